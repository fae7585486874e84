# The service's image repository: one per service, in the tooling account's
# shared registry, so every environment runs the very image CI built once, and
# the role the service's workflows assume to push to it. Environments live in
# other accounts: the repository policy trusts those accounts but only for the
# named roles (aws:PrincipalArn), so they need not exist yet: the execution roles
# pull, the deploy roles check an image tag exists before deploying it.

locals {
  tags = {
    service    = var.service_name
    env        = "shared"
    owners     = join(" ", var.owners)
    repository = var.repository
  }

  pull_actions = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
  ]
  push_actions = [
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
  ]

  pull_accounts   = distinct([for arn in var.pull_role_arns : split(":", arn)[4]])
  deploy_accounts = distinct([for arn in var.deploy_role_arns : split(":", arn)[4]])
}

resource "aws_ecr_repository" "this" {
  name = var.repository_name
  # Tags are commit SHAs and releases: a deployed tag must always mean the same image.
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }

  tags = local.tags
}

data "aws_iam_policy_document" "access" {
  statement {
    sid     = "PullFromTheEnvironments"
    actions = local.pull_actions

    principals {
      type        = "AWS"
      identifiers = [for account in local.pull_accounts : "arn:aws:iam::${account}:root"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.pull_role_arns
    }
  }

  # The deploy and rollback workflows run `aws ecr describe-images` with the
  # environment's deploy role before they deploy a tag.
  statement {
    sid     = "DescribeFromTheDeployRoles"
    actions = ["ecr:DescribeImages"]

    principals {
      type        = "AWS"
      identifiers = [for account in local.deploy_accounts : "arn:aws:iam::${account}:root"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.deploy_role_arns
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.access.json
}

# Untagged layers pile up with every build; release tags are kept forever.
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images after 14 days"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = 14
      }
      action = { type = "expire" }
    }]
  })
}

# ── Push role: the service's GitHub workflows (OIDC) ─────────────────────────
# Static-infra prerequisite: the GitHub Actions OIDC provider exists in the account.
data "aws_iam_openid_connect_provider" "github" {
  url = "https://token.actions.githubusercontent.com"
}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "push_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [data.aws_iam_openid_connect_provider.github.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only the refs that deploy build images: no pull request can push one.
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [for ref in var.push_refs : "repo:${var.github_repository}:ref:${ref}"]
    }
  }
}

resource "aws_iam_role" "push" {
  name               = var.push_role_name
  assume_role_policy = data.aws_iam_policy_document.push_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "push" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions.
  }

  statement {
    sid       = "BuildAndPromoteThisServicesImages"
    actions   = concat(local.pull_actions, local.push_actions)
    resources = [aws_ecr_repository.this.arn]
  }

  # The Dockerfile's stages start from the platform's build and runtime images.
  statement {
    sid       = "PullThePlatformImages"
    actions   = local.pull_actions
    resources = [for name in var.base_image_repositories : "arn:aws:ecr:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:repository/${name}"]
  }
}

resource "aws_iam_role_policy" "push" {
  name   = "push"
  role   = aws_iam_role.push.id
  policy = data.aws_iam_policy_document.push.json
}
