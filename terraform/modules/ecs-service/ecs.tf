resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest already; a per-service KMS key adds cost and key policy upkeep without a reader that needs it.
  name              = var.log_group
  retention_in_days = 365
  tags              = local.tags
}

# Only lets the service exist before CI's first deploy: CI registers the real
# task definitions (.lemi/render_taskdef.py) and Terraform ignores them.
resource "aws_ecs_task_definition" "bootstrap" {
  family                   = var.task_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  container_definitions = jsonencode([
    {
      name                   = var.container_name
      image                  = var.bootstrap_image
      essential              = true
      readonlyRootFilesystem = true
      portMappings = [
        { containerPort = var.http_port, protocol = "tcp" },
        { containerPort = var.metrics_port, protocol = "tcp" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = local.region
          awslogs-stream-prefix = var.environment
        }
      }
    }
  ])

  tags = local.tags
}

resource "aws_ecs_service" "this" {
  name            = var.service_name
  cluster         = data.aws_ecs_cluster.this.arn
  task_definition = aws_ecs_task_definition.bootstrap.arn
  # Zero until CI's first deploy: the bootstrap image is not the service.
  # .lemi/apply_scaling.py sets the real count range from deploy/service.yaml.
  desired_count                      = 0
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  enable_execute_command             = true
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"
  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = data.aws_subnets.private.ids
    security_groups  = concat([aws_security_group.service.id], [for group in data.aws_security_group.dependency : group.id])
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = var.container_name
    container_port   = var.http_port
  }

  # CI owns the task definition, .lemi/apply_scaling.py the task count.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  # The target group must be attached to a load balancer before a service can use it.
  depends_on = [aws_lb_listener_rule.internal, aws_lb_listener_rule.external]

  tags = local.tags
}
