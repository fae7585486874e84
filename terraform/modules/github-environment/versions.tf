terraform {
  required_version = ">= 1.5"

  required_providers {
    github = {
      source = "integrations/github"
      # 6.4 added tag_pattern to github_repository_environment_deployment_policy.
      version = "~> 6.4"
    }
  }
}
