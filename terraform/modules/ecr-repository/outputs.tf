output "repository_arn" {
  description = "The image repository."
  value       = aws_ecr_repository.this.arn
}

output "repository_url" {
  description = "Where CI pushes images."
  value       = aws_ecr_repository.this.repository_url
}

output "push_role_arn" {
  description = "The role the service's workflows assume to push images."
  value       = aws_iam_role.push.arn
}
