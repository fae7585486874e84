resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer (seed: offloaded to AWS); targets speak HTTP inside the VPC.
  name                 = var.target_group_name
  port                 = var.http_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = data.aws_vpc.this.id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.health_check_path
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

# No priority: the load balancer takes the next free one, so services never collide.
resource "aws_lb_listener_rule" "internal" {
  listener_arn = data.aws_lb_listener.internal.arn

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    host_header {
      values = [var.internal_host]
    }
  }

  tags = local.tags
}

resource "aws_lb_listener_rule" "external" {
  count        = var.external ? 1 : 0
  listener_arn = data.aws_lb_listener.external[0].arn

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    host_header {
      values = [var.external_host]
    }
  }

  tags = local.tags
}

# A wildcard certificate covers one label only (*.lemon.me does not cover
# svc.pre.lemon.me), so each external host brings its own.
resource "aws_acm_certificate" "external" {
  count             = var.external ? 1 : 0
  domain_name       = var.external_host
  validation_method = "DNS"
  tags              = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "external_validation" {
  for_each = var.external ? {
    for option in aws_acm_certificate.external[0].domain_validation_options : option.domain_name => option
  } : {}

  zone_id         = data.aws_route53_zone.external[0].zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "external" {
  count                   = var.external ? 1 : 0
  certificate_arn         = aws_acm_certificate.external[0].arn
  validation_record_fqdns = [for record in aws_route53_record.external_validation : record.fqdn]
}

resource "aws_lb_listener_certificate" "external" {
  count           = var.external ? 1 : 0
  listener_arn    = data.aws_lb_listener.external[0].arn
  certificate_arn = aws_acm_certificate_validation.external[0].certificate_arn
}

resource "aws_route53_record" "internal" {
  zone_id = data.aws_route53_zone.internal.zone_id
  name    = var.internal_host
  type    = "A"

  alias {
    name                   = data.aws_lb.internal.dns_name
    zone_id                = data.aws_lb.internal.zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "external" {
  count   = var.external ? 1 : 0
  zone_id = data.aws_route53_zone.external[0].zone_id
  name    = var.external_host
  type    = "A"

  alias {
    name                   = data.aws_lb.external[0].dns_name
    zone_id                = data.aws_lb.external[0].zone_id
    evaluate_target_health = true
  }
}
