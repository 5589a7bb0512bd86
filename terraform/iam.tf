# The workers' two roles.
#
# task role: exactly the AWS API actions the worker's C code calls
# (hl_aws_call / hl_aws_call_raw / hl_aws_prepare in worker/ and
# activities/), each on the narrowest resource IAM supports for it.
# tests/infra derives that set from the sources at test time and fails when
# this policy grants more or less. Exceptions, all checked there too:
#   - "*" only where the action has no resource-level permissions in IAM:
#     states:SendTask* (identified by a task token), ssm:GetCommandInvocation,
#     ssm:ListCommands, ssm:DescribeInstanceInformation,
#     config:BatchGetResourceConfig, tag:GetResources;
#   - iam:PassRole (not an API call): StartAutomationExecution passes the
#     automation role to SSM;
#   - ssm:PutParameter is in the code for `healer` operator commands that
#     flip the kill switch with the operator's own credentials: the workers
#     are not allowed to re-enable themselves. Likewise the other calls only
#     the operator commands make (worker/cli_*.c): states:StartExecution
#     and states:DescribeExecution (`healer replay`), dynamodb:Scan
#     (`healer status`). data.aws_iam_policy_document.operator (output
#     operator_policy_json) grants what those commands need.
#
# execution role: what ECS itself needs to start the task: pull the image,
# write the log stream, read the two token secrets.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

# ---- task role ---------------------------------------------------------------

resource "aws_iam_role" "task" {
  name               = "${var.name}-worker-task"
  description        = "healer workers: the AWS calls the activities make"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

locals {
  instance_arns = var.remediate_any_instance ? ["arn:${local.partition}:ec2:${local.region}:${local.account}:instance/*"] : distinct([
    for d in var.disk_alarms : "arn:${local.partition}:ec2:${local.region}:${local.account}:instance/${d.instance_id}"
  ])
}

data "aws_iam_policy_document" "task" {
  # Step Functions: long-poll this deployment's activities only.
  statement {
    sid       = "PollActivities"
    actions   = ["states:GetActivityTask"]
    resources = [for a in aws_sfn_activity.this : a.id]
  }

  # Answers and heartbeats name a task token, not a resource: IAM has no
  # resource-level permissions for them.
  statement {
    sid       = "AnswerTasks"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = ["*"]
  }

  # guard: the kill switch.
  statement {
    sid       = "ReadKillSwitch"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.kill_switch.arn]
  }

  # guard: the circuit breaker, the duplicate-event claims and the
  # blast-radius counters and state; remediate-sg: its rollback plans (all
  # in the breaker table).
  statement {
    sid       = "CircuitBreaker"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.breaker.arn]
  }

  # audit: records and the resource history; ticket: its idempotency memo;
  # recover: the resource's escalations (GSI) and its own record; guard:
  # the record of a blast-radius stop.
  statement {
    sid       = "AuditTrail"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.audit.arn, "${aws_dynamodb_table.audit.arn}/index/resource-index"]
  }

  # guard, diagnose: opt-out and Owner tags. GetResources has no
  # resource-level permissions.
  statement {
    sid       = "ReadTags"
    actions   = ["tag:GetResources"]
    resources = ["*"]
  }

  # remediate-disk: run the project's own document, on the listed instances
  # only (or every instance with remediate_any_instance).
  statement {
    sid       = "RunDiskCleanup"
    actions   = ["ssm:SendCommand"]
    resources = concat([aws_ssm_document.disk_cleanup.arn], local.instance_arns)
  }

  # remediate-disk: is the agent online, was the command already sent (a
  # retry), how did it go. No resource-level permissions for these.
  statement {
    sid       = "FollowDiskCleanup"
    actions   = ["ssm:DescribeInstanceInformation", "ssm:ListCommands", "ssm:GetCommandInvocation"]
    resources = ["*"]
  }

  # remediate-sg: the rules before the change (for the rollback plan).
  # BatchGetResourceConfig has no resource-level permissions.
  statement {
    sid       = "ReadGroupConfig"
    actions   = ["config:BatchGetResourceConfig"]
    resources = ["*"]
  }

  # remediate-sg: start and follow the AWS runbook, and only that one (the
  # account part is a wildcard: AWS-owned runbooks' ARNs carry none).
  statement {
    sid       = "RunSgAutomation"
    actions   = ["ssm:StartAutomationExecution"]
    resources = ["arn:${local.partition}:ssm:${local.region}:*:automation-definition/AWS-DisablePublicAccessForSecurityGroup:*"]
  }

  statement {
    sid       = "FollowSgAutomation"
    actions   = ["ssm:GetAutomationExecution"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account}:automation-execution/*"]
  }

  # renew-cert: certificates of this account and region (their ids come
  # from the events, so no narrower resource exists).
  statement {
    sid       = "Certificates"
    actions   = ["acm:DescribeCertificate", "acm:RenewCertificate"]
    resources = ["arn:${local.partition}:acm:${local.region}:${local.account}:certificate/*"]
  }

  statement {
    sid       = "PassAutomationRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.sg_automation.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ssm.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "activities"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ---- operators ----------------------------------------------------------------
#
# What the `healer` operator commands need (README.md, "Operator commands"):
# attach operator_policy_json to the people's or the automation's role. Not
# attached to anything here.

data "aws_iam_policy_document" "operator" {
  # disable / enable, status: the kill switch.
  statement {
    sid       = "KillSwitch"
    actions   = ["ssm:GetParameter", "ssm:PutParameter"]
    resources = [aws_ssm_parameter.kill_switch.arn]
  }

  # status: breakers, blast-radius state and counters; enable: clear a stop.
  statement {
    sid       = "BreakerTable"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Scan"]
    resources = [aws_dynamodb_table.breaker.arn]
  }

  # status, audit: read the records; disable / enable: write theirs.
  statement {
    sid       = "AuditTable"
    actions   = ["dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.audit.arn, "${aws_dynamodb_table.audit.arn}/index/resource-index"]
  }

  # replay: start the engine and follow the execution.
  statement {
    sid       = "ReplayStart"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.engine.arn]
  }

  statement {
    sid       = "ReplayFollow"
    actions   = ["states:DescribeExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account}:execution:${aws_sfn_state_machine.engine.name}:*"]
  }
}

# ---- execution role ----------------------------------------------------------

resource "aws_iam_role" "execution" {
  name               = "${var.name}-worker-execution"
  description        = "ECS agent for the healer workers: image, logs, token secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken has no resource-level permissions.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullWorkerImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.worker.arn]
  }

  statement {
    sid       = "WriteWorkerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker.arn}:*"]
  }

  dynamic "statement" {
    for_each = length(local.worker_secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadTokenSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.worker_secret_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.secrets_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptTokenSecrets"
      actions   = ["kms:Decrypt"]
      resources = var.secrets_kms_key_arns
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-worker"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}
