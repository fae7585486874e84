variable "repository_name" {
  description = "The image repository's name (the service's name)."
  type        = string
}

variable "service_name" {
  description = "The service: the `service` tag."
  type        = string
}

variable "repository" {
  description = "The service's Git repository name: the `repository` tag."
  type        = string
}

variable "owners" {
  description = "GitHub logins of the owners: the `owners` tag."
  type        = list(string)
}

variable "pull_role_arns" {
  description = "Roles in the environments' accounts that pull images (the task execution roles)."
  type        = list(string)
}

variable "push_role_arns" {
  description = "Roles in the environments' accounts that push images (the deploy roles of the service's workflows)."
  type        = list(string)
}
