# Others reach the service by joining this group (seed: "a Security Group
# called svcname-clients that other resources can attach themselves to").
resource "aws_security_group" "clients" {
  #checkov:skip=CKV2_AWS_5:Attached by the service's clients (other services, jobs), not by this module.
  name        = var.clients_security_group_name
  description = "Members may call ${var.service_name} (${var.environment}) on its HTTP port"
  vpc_id      = data.aws_vpc.this.id
  tags        = merge(local.tags, { Name = var.clients_security_group_name })
}

resource "aws_vpc_security_group_egress_rule" "clients_to_service" {
  security_group_id            = aws_security_group.clients.id
  description                  = "To ${var.service_name} on its HTTP port"
  ip_protocol                  = "tcp"
  from_port                    = var.http_port
  to_port                      = var.http_port
  referenced_security_group_id = aws_security_group.service.id
  tags                         = local.tags
}

# The service's tasks. Ingress: the HTTP port, only from the load balancers
# and from <service>-clients. The metrics port gets no rule at all: Fargate has
# no host agent, so the Datadog agent runs as a sidecar in the task and scrapes
# it over localhost, which security groups never see.
resource "aws_security_group" "service" {
  name        = var.service_name
  description = "Tasks of ${var.service_name} (${var.environment})"
  vpc_id      = data.aws_vpc.this.id
  tags        = merge(local.tags, { Name = var.service_name })
}

resource "aws_vpc_security_group_ingress_rule" "from_load_balancers" {
  for_each = toset(concat(
    tolist(data.aws_lb.internal.security_groups),
    var.external ? tolist(data.aws_lb.external[0].security_groups) : [],
  ))

  security_group_id            = aws_security_group.service.id
  description                  = "HTTP from the load balancers"
  ip_protocol                  = "tcp"
  from_port                    = var.http_port
  to_port                      = var.http_port
  referenced_security_group_id = each.value
  tags                         = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_clients" {
  security_group_id            = aws_security_group.service.id
  description                  = "HTTP from members of ${var.clients_security_group_name}"
  ip_protocol                  = "tcp"
  from_port                    = var.http_port
  to_port                      = var.http_port
  referenced_security_group_id = aws_security_group.clients.id
  tags                         = local.tags
}

# AWS APIs (ECR, Secrets Manager, SSM for ECS Exec) and the Datadog intake are HTTPS.
resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.service.id
  description       = "HTTPS to AWS APIs and the Datadog intake"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

# Dependencies (load balancers, databases, caches) live in the VPC; which of
# them accept the service is decided by their own groups' ingress rules.
resource "aws_vpc_security_group_egress_rule" "vpc" {
  security_group_id = aws_security_group.service.id
  description       = "TCP to dependencies inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 0
  to_port           = 65535
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  tags              = local.tags
}
