# Every name arrives already derived (lemi_hooks/naming.py is the one place
# conventions live); this module only composes resources from them.

variable "service_name" {
  description = "The service: ECS service name, security group name and the `service` tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*(-[a-z0-9]+)*$", var.service_name))
    error_message = "service_name must be a DNS label: lowercase letters, digits and single dashes, starting with a letter."
  }
}

variable "environment" {
  description = "The environment (pre, qa, prod): the `env` tag."
  type        = string
}

variable "repository" {
  description = "The service's Git repository name: the `repository` tag."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the service's GitHub repository; its workflows may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "owners" {
  description = "GitHub logins of the owners. Each is also the name of the owner's IAM user in this account, which gets ECS Exec into the service's tasks."
  type        = list(string)

  validation {
    condition     = length(var.owners) > 0
    error_message = "A service needs at least one owner."
  }
}

variable "cluster_name" {
  description = "The environment's ECS cluster, looked up by name."
  type        = string
}

variable "vpc_name" {
  description = "The environment's VPC (its Name tag), looked up by name."
  type        = string
}

variable "internal_alb_name" {
  description = "The environment's internal load balancer, looked up by name."
  type        = string
}

variable "internal_zone" {
  description = "The private Route 53 zone internal hosts live in."
  type        = string
}

variable "internal_host" {
  description = "The internal host: <service>.<env>.<internal zone>."
  type        = string
}

variable "external" {
  description = "Whether the service is reachable from the internet through the external load balancer."
  type        = bool
}

variable "external_alb_name" {
  description = "The environment's internet-facing load balancer, looked up by name (used when external)."
  type        = string
}

variable "external_zone" {
  description = "The public Route 53 zone holding external_host (used when external)."
  type        = string
}

variable "external_host" {
  description = "The public host (used when external): <service>.<env>.<base domain>, or the service's own domain."
  type        = string

  validation {
    condition     = var.external_host == "" || can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", var.external_host))
    error_message = "external_host must be a host name."
  }
}

variable "target_group_name" {
  description = "The target group's name (at most 32 characters)."
  type        = string

  validation {
    condition     = length(var.target_group_name) <= 32
    error_message = "Target group names are at most 32 characters."
  }
}

variable "task_family" {
  description = "The task definition family CI registers revisions in."
  type        = string
}

variable "container_name" {
  description = "The service's container in the task definition (the load balancer targets it)."
  type        = string
}

variable "log_group" {
  description = "The CloudWatch log group the container logs to."
  type        = string
}

variable "cpu" {
  description = "Task CPU units of the bootstrap task definition (CI's task definitions carry the real size)."
  type        = number
}

variable "memory" {
  description = "Task memory (MiB) of the bootstrap task definition."
  type        = number
}

variable "bootstrap_image" {
  description = "Image of the bootstrap task definition that lets the service be created before CI's first deploy."
  type        = string
}

variable "http_port" {
  description = "The service's HTTP port (the convention: 8080)."
  type        = number
}

variable "metrics_port" {
  description = "The service's OpenMetrics port (the convention: 9090), scraped by the Datadog agent sidecar inside the task."
  type        = number
}

variable "health_check_path" {
  description = "The health endpoint the load balancer checks (the convention: /health)."
  type        = string
}

variable "execution_role_name" {
  description = "Name of the task execution role (pulls the image, reads the service's secrets)."
  type        = string
}

variable "task_role_name" {
  description = "Name of the task role (what the service's code may do; ECS Exec's SSM channels)."
  type        = string
}

variable "deploy_role_name" {
  description = "Name of the role the service's GitHub workflows assume to deploy."
  type        = string
}

variable "image_repository_arn" {
  description = "The service's image repository (tooling account); the deploy role may check its tags exist (ecr:DescribeImages)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", var.image_repository_arn))
    error_message = "image_repository_arn must be an ECR repository ARN."
  }
}

variable "secret_arn_prefix" {
  description = "arn:aws:secretsmanager:<region>:<account>:secret: of this environment."
  type        = string
}

variable "datadog_api_key_secret_arn" {
  description = "ARN (without its random suffix) of the Datadog API key the agent sidecar reads; empty when the platform runs no agent."
  type        = string

  validation {
    condition     = var.datadog_api_key_secret_arn == "" || startswith(var.datadog_api_key_secret_arn, "arn:")
    error_message = "datadog_api_key_secret_arn must be empty or an ARN."
  }
}

variable "secret_name_prefix" {
  description = "The service's own secrets' name prefix, <service>/<env>/; the execution role reads only these."
  type        = string

  validation {
    condition     = endswith(var.secret_name_prefix, "/")
    error_message = "secret_name_prefix must end with '/', so one service's prefix never covers another's."
  }
}

variable "clients_security_group_name" {
  description = "Name of the security group others join to reach this service (<service>-clients)."
  type        = string
}

variable "dependency_security_groups" {
  description = "The -clients security groups of the service's dependencies; the service's tasks join them."
  type        = list(string)
}

variable "dependencies" {
  description = "The service's dependencies for its dashboard: kind is service, database or cache."
  type = list(object({
    name = string
    kind = string
  }))

  validation {
    condition     = alltrue([for dependency in var.dependencies : contains(["service", "database", "cache"], dependency.kind)])
    error_message = "A dependency's kind is service, database or cache."
  }
}
