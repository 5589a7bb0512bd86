# The engine: one Step Functions activity per worker activity, and the state
# machine statemachines/engine.asl.json rendered with their ARNs and the
# settings below, with its execution role and its CloudWatch Logs logging.
#
# Activity tasks need no IAM permission in the state machine's role (the
# workers poll them with their own role); the role only delivers logs.

resource "aws_sfn_activity" "this" {
  for_each = toset(local.activity_names)

  name = "${var.name}-${each.key}"
  tags = local.tags
}

locals {
  asl_template_path = "${path.module}/../statemachines/engine.asl.json"

  # Every placeholder of engine.asl.json; tests/infra checks that this map
  # fills them all.
  asl_template_vars = {
    guard_activity_arn          = aws_sfn_activity.this["guard"].id
    diagnose_activity_arn       = aws_sfn_activity.this["diagnose"].id
    remediate_disk_activity_arn = aws_sfn_activity.this["remediate-disk"].id
    remediate_sg_activity_arn   = aws_sfn_activity.this["remediate-sg"].id
    renew_cert_activity_arn     = aws_sfn_activity.this["renew-cert"].id
    ticket_activity_arn         = aws_sfn_activity.this["ticket"].id
    notify_activity_arn         = aws_sfn_activity.this["notify"].id
    audit_activity_arn          = aws_sfn_activity.this["audit"].id
    recover_activity_arn        = aws_sfn_activity.this["recover"].id
    confidence_threshold        = var.confidence_threshold
    heartbeat_seconds           = var.heartbeat_seconds
    task_timeout_seconds        = var.task_timeout_seconds
    remediation_timeout_seconds = var.remediation_timeout_seconds
    retry_max_attempts          = var.retry_max_attempts
  }
}

# Vended-logs prefix: keeps the CloudWatch Logs resource policy small.
resource "aws_cloudwatch_log_group" "state_machine" {
  name              = "/aws/vendedlogs/states/${var.name}-engine"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name}-engine"
  description        = "healer engine state machine: log delivery only"
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "state_machine" {
  # AWS requires "*" for the CloudWatch Logs vended log delivery actions
  # (Step Functions developer guide, "IAM policies for logging to
  # CloudWatch Logs"): they have no resource-level permissions.
  statement {
    sid = "VendedLogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "log-delivery"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_sfn_state_machine" "engine" {
  name       = "${var.name}-engine"
  role_arn   = aws_iam_role.state_machine.arn
  type       = "STANDARD"
  definition = templatefile(local.asl_template_path, local.asl_template_vars)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = var.state_machine_log_level
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.heartbeat_seconds < var.task_timeout_seconds && var.heartbeat_seconds < var.remediation_timeout_seconds
      error_message = "heartbeat_seconds must be below task_timeout_seconds and remediation_timeout_seconds."
    }
  }

  depends_on = [aws_iam_role_policy.state_machine]
}

# The engine's own health: an execution that fails or times out means a
# definition or data error nobody was told about (escalations succeed).
resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  for_each = toset(["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])

  alarm_name          = "${var.name}-engine-${each.key}"
  alarm_description   = "healer engine: ${each.key} > 0. Look at the execution history."
  namespace           = "AWS/States"
  metric_name         = each.key
  dimensions          = { StateMachineArn = aws_sfn_state_machine.engine.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  tags                = local.tags
}
