# One service in one environment: everything SPEC §5 lists except the image
# repository (ecr-repository, in the tooling account) and the task definitions
# CI registers. Shared infrastructure (cluster, VPC, load balancers, zones, the
# dependencies' -clients groups) is static and looked up by name.

locals {
  # The four tags every resource carries. Tag values may not hold commas, so
  # owners are separated by spaces.
  tags = {
    service    = var.service_name
    env        = var.environment
    owners     = join(" ", var.owners)
    repository = var.repository
  }

  # Listener ports of the shared load balancers: services reach each other over
  # plain HTTP inside the VPC (naming.dependency_endpoints), the internet over
  # HTTPS terminated at the external load balancer.
  internal_listener_port = 80
  external_listener_port = 443

  # Names only this module uses; derived here so they stay unique per service and env.
  owners_group_name = "${var.service_name}-${var.environment}-owners"
  exec_policy_name  = "${var.service_name}-${var.environment}-exec"

  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_ecs_cluster" "this" {
  cluster_name = var.cluster_name
}

data "aws_vpc" "this" {
  tags = {
    Name = var.vpc_name
  }
}

# Static-infra convention: the VPC's private subnets carry the tag tier=private.
data "aws_subnets" "private" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.this.id]
  }

  tags = {
    tier = "private"
  }
}

data "aws_lb" "internal" {
  name = var.internal_alb_name
}

data "aws_lb_listener" "internal" {
  load_balancer_arn = data.aws_lb.internal.arn
  port              = local.internal_listener_port
}

data "aws_lb" "external" {
  count = var.external ? 1 : 0
  name  = var.external_alb_name
}

data "aws_lb_listener" "external" {
  count             = var.external ? 1 : 0
  load_balancer_arn = data.aws_lb.external[0].arn
  port              = local.external_listener_port
}

data "aws_route53_zone" "internal" {
  name         = var.internal_zone
  private_zone = true
}

data "aws_route53_zone" "external" {
  count        = var.external ? 1 : 0
  name         = var.external_zone
  private_zone = false
}

# A missing dependency fails the plan here, naming the group, rather than at deploy.
data "aws_security_group" "dependency" {
  for_each = toset(var.dependency_security_groups)

  vpc_id = data.aws_vpc.this.id
  name   = each.value
}

module "dashboard" {
  source = "../service-dashboard"
  providers = {
    datadog = datadog
  }

  service_name      = var.service_name
  environment       = var.environment
  repository        = var.repository
  owners            = var.owners
  cluster_name      = var.cluster_name
  target_group_name = var.target_group_name
  dependencies      = var.dependencies
}
