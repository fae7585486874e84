# The service's image repository: one per service, in the tooling account's
# shared registry, so every environment runs the very image CI built once.
# Environments live in other accounts; the repository policy trusts those
# accounts but only for the named roles (aws:PrincipalArn), so the roles need
# not exist yet when this is applied.

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

  accounts = distinct([for arn in concat(var.pull_role_arns, var.push_role_arns) : split(":", arn)[4]])
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
    sid     = "Pull"
    actions = local.pull_actions

    principals {
      type        = "AWS"
      identifiers = [for account in local.accounts : "arn:aws:iam::${account}:root"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = concat(var.pull_role_arns, var.push_role_arns)
    }
  }

  statement {
    sid     = "Push"
    actions = concat(local.pull_actions, local.push_actions)

    principals {
      type        = "AWS"
      identifiers = [for account in local.accounts : "arn:aws:iam::${account}:root"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.push_role_arns
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
