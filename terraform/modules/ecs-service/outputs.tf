output "ecs_service_arn" {
  description = "The ECS service."
  value       = aws_ecs_service.this.id
}

output "target_group_arn" {
  description = "The service's target group."
  value       = aws_lb_target_group.this.arn
}

output "clients_security_group_id" {
  description = "Join this group to call the service."
  value       = aws_security_group.clients.id
}

output "service_security_group_id" {
  description = "The service's own tasks' group."
  value       = aws_security_group.service.id
}

output "execution_role_arn" {
  description = "The task execution role."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "The task role."
  value       = aws_iam_role.task.arn
}

output "deploy_role_arn" {
  description = "The role the service's GitHub workflows assume."
  value       = aws_iam_role.deploy.arn
}

output "internal_url" {
  description = "The service inside the VPC."
  value       = "http://${var.internal_host}"
}

output "external_url" {
  description = "The service on the internet (empty when internal)."
  value       = var.external ? "https://${var.external_host}" : ""
}

output "dashboard_url" {
  description = "The service's Datadog dashboard."
  value       = module.dashboard.url
}
