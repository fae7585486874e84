variable "service_name" {
  description = "The service (Datadog's unified `service` tag)."
  type        = string
}

variable "environment" {
  description = "The environment (Datadog's unified `env` tag)."
  type        = string
}

variable "repository" {
  description = "The service's Git repository, named in the dashboard's description."
  type        = string
}

variable "owners" {
  description = "GitHub logins of the owners, named in the dashboard's description."
  type        = list(string)
}

variable "cluster_name" {
  description = "The environment's ECS cluster."
  type        = string
}

variable "target_group_name" {
  description = "The service's target group on the load balancers."
  type        = string
}

variable "dependencies" {
  description = "What the service needs to operate: kind is service, database or cache."
  type = list(object({
    name = string
    kind = string
  }))
}
