# One dashboard per service and environment: the service itself, then one
# group per dependency, so an owner sees at a glance whether a problem is
# theirs or upstream. Datadog dashboards take no resource tags; service, env,
# owners and repository are in the description and the template variables.
#
# Queries rely on Datadog's unified tags (service, env: the task definition's
# docker labels), the AWS integration's tags for load balancers, RDS and
# ElastiCache, and the static-infra convention that every datastore carries
# Name=<datastore name> (Datadog: name:<datastore name>).

locals {
  scope = "service:${var.service_name},env:${var.environment}"

  timeseries = {
    service = [
      { title = "Requests by status", query = "sum:aws.applicationelb.httpcode_target_2xx{targetgroup:targetgroup/${var.target_group_name}/*}.as_count(), sum:aws.applicationelb.httpcode_target_4xx{targetgroup:targetgroup/${var.target_group_name}/*}.as_count(), sum:aws.applicationelb.httpcode_target_5xx{targetgroup:targetgroup/${var.target_group_name}/*}.as_count()" },
      { title = "Latency (p95, s)", query = "avg:aws.applicationelb.target_response_time.p95{targetgroup:targetgroup/${var.target_group_name}/*}" },
      { title = "Healthy tasks", query = "min:aws.applicationelb.healthy_host_count{targetgroup:targetgroup/${var.target_group_name}/*}" },
      { title = "CPU %", query = "avg:ecs.fargate.cpu.percent{${local.scope}} by {task_arn}" },
      { title = "Memory (bytes)", query = "avg:ecs.fargate.mem.usage{${local.scope}} by {task_arn}" },
      { title = "Running tasks", query = "max:aws.ecs.service.running{servicename:${var.service_name},clustername:${var.cluster_name}}" },
    ]
  }

  dependency_widgets = {
    service = [
      { title = "5xx answered", metric = "sum:aws.applicationelb.httpcode_target_5xx{targetgroup:targetgroup/%s-${var.environment}/*}.as_count()" },
      { title = "Latency (p95, s)", metric = "avg:aws.applicationelb.target_response_time.p95{targetgroup:targetgroup/%s-${var.environment}/*}" },
    ]
    database = [
      { title = "CPU %", metric = "avg:aws.rds.cpuutilization{name:%s,env:${var.environment}}" },
      { title = "Connections", metric = "sum:aws.rds.database_connections{name:%s,env:${var.environment}}" },
    ]
    cache = [
      { title = "CPU %", metric = "avg:aws.elasticache.cpuutilization{name:%s,env:${var.environment}}" },
      { title = "Evictions", metric = "sum:aws.elasticache.evictions{name:%s,env:${var.environment}}.as_count()" },
    ]
  }

  service_group = {
    definition = {
      type        = "group"
      title       = "${var.service_name} (${var.environment})"
      layout_type = "ordered"
      widgets = [for widget in local.timeseries.service : {
        definition = {
          type     = "timeseries"
          title    = widget.title
          requests = [{ q = widget.query, display_type = "line" }]
        }
      }]
    }
  }

  dependency_groups = [for dependency in var.dependencies : {
    definition = {
      type        = "group"
      title       = "${dependency.kind}: ${dependency.name}"
      layout_type = "ordered"
      widgets = [for widget in local.dependency_widgets[dependency.kind] : {
        definition = {
          type     = "timeseries"
          title    = "${dependency.name}: ${widget.title}"
          requests = [{ q = format(widget.metric, dependency.name), display_type = "line" }]
        }
      }]
    }
  }]
}

resource "datadog_dashboard_json" "this" {
  dashboard = jsonencode({
    title       = "${var.service_name} (${var.environment})"
    description = "Managed by lemi (terraform/modules/service-dashboard). service: ${var.service_name}, env: ${var.environment}, owners: ${join(", ", var.owners)}, repository: ${var.repository}."
    layout_type = "ordered"
    template_variables = [
      { name = "service", prefix = "service", default = var.service_name },
      { name = "env", prefix = "env", default = var.environment },
    ]
    widgets = concat([local.service_group], local.dependency_groups)
  })
}
