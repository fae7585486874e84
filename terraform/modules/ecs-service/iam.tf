data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Only ECS acting for this account may assume it (confused-deputy guard).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ── Execution role: ECS pulls the image, writes logs, resolves secrets ────────
resource "aws_iam_role" "execution" {
  name               = var.execution_role_name
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "execution_managed" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    sid       = "OwnSecretsOnly"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["${var.secret_arn_prefix}${var.secret_name_prefix}*"]
  }

  # The platform's Datadog agent sidecar reads its API key, when the platform runs one.
  dynamic "statement" {
    for_each = var.datadog_api_key_secret_arn == "" ? [] : [var.datadog_api_key_secret_arn]
    content {
      sid       = "DatadogAgentApiKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = ["${statement.value}-*"]
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "own-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

# ── Task role: what the service's code may do ────────────────────────────────
resource "aws_iam_role" "task" {
  name               = var.task_role_name
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "task_exec" {
  statement {
    sid = "EcsExecChannels"
    # The SSM message channels ECS Exec opens have no resource-level permissions.
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "task_exec" {
  name   = "ecs-exec"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_exec.json
}

# ── ECS Exec for the owners only ─────────────────────────────────────────────
# Convention: each owner's IAM user in this account is named after their GitHub
# login. The group gives them exec into this service's tasks and nothing else
# (tasks carry the service tag: the ECS service propagates its tags).
resource "aws_iam_group" "owners" {
  name = local.owners_group_name
  path = "/lemi/"
}

resource "aws_iam_user_group_membership" "owners" {
  for_each = toset(var.owners)

  user   = each.value
  groups = [aws_iam_group.owners.name]
}

data "aws_iam_policy_document" "owners_exec" {
  statement {
    sid       = "ExecIntoThisServicesTasks"
    actions   = ["ecs:ExecuteCommand"]
    resources = ["arn:aws:ecs:${local.region}:${local.account_id}:task/${var.cluster_name}/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/service"
      values   = [var.service_name]
    }
  }

  statement {
    sid       = "OnThisCluster"
    actions   = ["ecs:ExecuteCommand"]
    resources = [data.aws_ecs_cluster.this.arn]
  }

  statement {
    sid     = "FindTheTasks"
    actions = ["ecs:ListTasks", "ecs:DescribeTasks"]
    resources = [
      data.aws_ecs_cluster.this.arn,
      "arn:aws:ecs:${local.region}:${local.account_id}:container-instance/${var.cluster_name}/*",
      "arn:aws:ecs:${local.region}:${local.account_id}:task/${var.cluster_name}/*",
    ]
  }
}

resource "aws_iam_policy" "owners_exec" {
  name        = local.exec_policy_name
  path        = "/lemi/"
  description = "ECS Exec into ${var.service_name} (${var.environment}) for its owners"
  policy      = data.aws_iam_policy_document.owners_exec.json
  tags        = local.tags
}

resource "aws_iam_group_policy_attachment" "owners_exec" {
  group      = aws_iam_group.owners.name
  policy_arn = aws_iam_policy.owners_exec.arn
}

# ── Deploy role: the service's GitHub workflows (OIDC) ───────────────────────
# Static-infra prerequisite: the GitHub Actions OIDC provider exists in the account.
data "aws_iam_openid_connect_provider" "github" {
  url = "https://token.actions.githubusercontent.com"
}

data "aws_iam_policy_document" "deploy_trust" {
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

    # Only jobs running in this environment's GitHub environment (which can require
    # reviewers) may deploy: not pull requests, not other branches' workflows.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name               = var.deploy_role_name
  assume_role_policy = data.aws_iam_policy_document.deploy_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid = "RegisterTaskDefinitions"
    # These two have no resource-level permissions.
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "TagTaskDefinitions"
    actions   = ["ecs:TagResource"]
    resources = ["arn:aws:ecs:${local.region}:${local.account_id}:task-definition/${var.task_family}:*"]
  }

  statement {
    sid       = "ThisService"
    actions   = ["ecs:UpdateService", "ecs:DescribeServices"]
    resources = ["arn:aws:ecs:${local.region}:${local.account_id}:service/${var.cluster_name}/${var.service_name}"]
  }

  statement {
    sid       = "InspectDeployments"
    actions   = ["ecs:ListTasks", "ecs:DescribeTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [data.aws_ecs_cluster.this.arn]
    }
  }

  # The deploy and rollback workflows check an image tag exists before deploying it
  # (`aws ecr describe-images`). The repository is in the tooling account: its
  # repository policy (ecr-repository, deploy_role_arns) grants the same action.
  statement {
    sid       = "CheckTheImageExists"
    actions   = ["ecr:DescribeImages"]
    resources = [var.image_repository_arn]
  }

  statement {
    sid       = "HandTheRolesToEcs"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.task.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # .lemi/apply_scaling.py owns the service's scaling (Terraform leaves desired_count alone).
  statement {
    sid = "ScalingReads"
    # Describe calls have no resource-level permissions.
    actions = [
      "application-autoscaling:DescribeScalableTargets",
      "application-autoscaling:DescribeScalingPolicies",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ScalingWrites"
    # Application Auto Scaling names scalable targets by ids it assigns, so the
    # account's scalable targets are the narrowest resource IAM can express.
    actions = [
      "application-autoscaling:RegisterScalableTarget",
      "application-autoscaling:PutScalingPolicy",
    ]
    resources = ["arn:aws:application-autoscaling:${local.region}:${local.account_id}:scalable-target/*"]
  }

  # The first RegisterScalableTarget in a fresh account creates Application Auto
  # Scaling's service-linked role for ECS; only that role, only for that service.
  statement {
    sid       = "ScalingServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:aws:iam::${local.account_id}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["ecs.application-autoscaling.amazonaws.com"]
    }
  }

  statement {
    sid     = "TargetTrackingAlarms"
    actions = ["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"]
    # Target tracking names its alarms TargetTracking-<resource id>-...
    resources = ["arn:aws:cloudwatch:${local.region}:${local.account_id}:alarm:TargetTracking-service/${var.cluster_name}/${var.service_name}-*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
