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

variable "deploy_role_arns" {
  description = "The environments' deploy roles: the deploy and rollback workflows check an image tag exists with them (ecr:DescribeImages)."
  type        = list(string)
}

variable "github_repository" {
  description = "owner/name of the service's GitHub repository; its workflows assume the push role."
  type        = string
}

variable "push_refs" {
  description = "Git refs whose workflows may push images (e.g. refs/heads/develop, refs/tags/*)."
  type        = list(string)

  validation {
    condition     = length(var.push_refs) > 0 && alltrue([for ref in var.push_refs : startswith(ref, "refs/")])
    error_message = "push_refs must name at least one ref, each starting with refs/."
  }
}

variable "push_role_name" {
  description = "The role the service's workflows assume (GitHub OIDC) to build and push its images."
  type        = string
}

variable "base_image_repositories" {
  description = "The platform's images in this registry the service's Dockerfile builds from (e.g. platform/java-build, platform/java-runtime); the push role may pull them."
  type        = list(string)

  validation {
    condition     = length(var.base_image_repositories) > 0 && alltrue([for name in var.base_image_repositories : can(regex("^[a-z0-9][a-z0-9._/-]*$", name))])
    error_message = "base_image_repositories must name at least one repository, each a repository name without registry or tag."
  }
}
