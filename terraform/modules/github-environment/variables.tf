variable "repository" {
  description = "The service's GitHub repository, by name (the provider's owner is the organisation)."
  type        = string
}

variable "environment" {
  description = "The GitHub environment: the platform environment's name (pre, qa, prod), which the deploy role's trust names."
  type        = string
}

variable "manage_environment" {
  description = "Whether this call owns the environment (its reviewers and branch policy). A repository's environments are shared by its services: the first service's call owns them, a second service's call only adds its own tag pattern."
  type        = bool
}

variable "branch_patterns" {
  description = "Branches whose workflow runs may use the environment (e.g. develop)."
  type        = list(string)
}

variable "tag_patterns" {
  description = "Tags whose workflow runs may use the environment (e.g. v*.*.*, or <service>/v*.*.* for a second service)."
  type        = list(string)
}

variable "reviewers" {
  description = "GitHub logins whose approval a job in the environment waits for; empty for none. Used when manage_environment."
  type        = list(string)

  validation {
    condition     = length(var.reviewers) <= 6
    error_message = "GitHub allows at most 6 required reviewers per environment."
  }
}
