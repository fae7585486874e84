# One GitHub environment of a service's repository. The environment's deploy
# role trusts only jobs running in it (repo:<org>/<repo>:environment:<env>), so
# this is what decides which refs can deploy there and who must approve.
#
# Only the refs listed may use the environment (custom branch policies): the
# deploy branches, the release tags, and for environments with an approval the
# branch the rollback workflow is dispatched from, so rollback runs behind the
# same reviewers. When reviewers are given, nobody approves their own run.

locals {
  environment = var.manage_environment ? github_repository_environment.this[0].environment : var.environment
}

# Required reviewers are numeric user ids; owners are known by login.
data "github_user" "reviewer" {
  for_each = var.manage_environment ? toset(var.reviewers) : toset([])
  username = each.value
}

resource "github_repository_environment" "this" {
  count = var.manage_environment ? 1 : 0

  repository          = var.repository
  environment         = var.environment
  prevent_self_review = length(var.reviewers) > 0

  dynamic "reviewers" {
    for_each = length(var.reviewers) > 0 ? [var.reviewers] : []
    content {
      users = [for login in reviewers.value : data.github_user.reviewer[login].id]
    }
  }

  deployment_branch_policy {
    protected_branches     = false
    custom_branch_policies = true
  }
}

# A second service adds its policies to the environment the first service's call
# manages. Were it missing, the first job naming it would create it unprotected:
# fail the plan instead.
data "github_repository_environments" "existing" {
  count      = var.manage_environment ? 0 : 1
  repository = var.repository

  lifecycle {
    postcondition {
      condition     = contains(self.environments[*].name, var.environment)
      error_message = "The repository has no GitHub environment ${var.environment}: its first service's Terraform manages the repository's environments. Add ${var.environment} to that service first."
    }
  }
}

resource "github_repository_environment_deployment_policy" "branch" {
  for_each = toset(var.branch_patterns)

  repository     = var.repository
  environment    = local.environment
  branch_pattern = each.value
}

resource "github_repository_environment_deployment_policy" "tag" {
  for_each = toset(var.tag_patterns)

  repository  = var.repository
  environment = local.environment
  tag_pattern = each.value
}
