# The EventBridge rules that start the engine, their targets and the role
# EventBridge uses (states:StartExecution on this state machine only).
#
# Every target sends {"event": <the whole event>, "dryRun": <bool>}
# (docs/ACTIVITIES.md). <aws.events.event.json> is the full event;
# <aws.events.event> would drop its "detail" field. dryRun is per diagnosis
# class: var.dry_run_by_class[<the rule's class>] when the map has the
# class, else var.dry_run (local.event_dry_run below), so a team can let
# the disk cleanup act while the security-group fix still only reports.
#
# The patterns are plain HCL objects so tests/infra can evaluate them against
# the event fixtures with EventBridge's matching rules:
#   disk  - an ALARM state change of a single-metric alarm on CWAgent
#           disk_used_percent. Not: OK/INSUFFICIENT_DATA states, metric-math
#           alarms (a metrics[] entry with "expression": the instance and path
#           are ambiguous), composite alarms (no metrics at all), alarms
#           inside a CloudWatch mute window (muteDetail: people own the host
#           then, e.g. patching).
#   ssh   - the restricted-ssh Config rule turning a security group
#           NON_COMPLIANT. Not: COMPLIANT results, other rules.
#   cert  - ACM approaching expiration, expired, renewal action required.
#   disk_ok, ssh_ok - recoveries: the same disk alarm back to OK (muted or
#           not), the restricted-ssh rule finding the group COMPLIANT. The
#           guard recognises them and the engine's Recover state closes the
#           resource's open healer tickets (docs/ACTIVITIES.md, recover).
#
# Duplicate deliveries (EventBridge delivers at least once) start a second
# execution, since a target cannot name its executions: the guard claims
# each event id once (include/healer/claim.h), and the duplicate ends as
# Duplicate without acting or recording anything twice.

locals {
  # A single-metric alarm on CWAgent disk_used_percent (disk and disk_ok).
  # A whole-value reference, so tests/infra can still evaluate the patterns.
  disk_alarm_configuration = {
    metrics = {
      expression = [{ exists = false }]
      metricStat = {
        metric = {
          namespace = ["CWAgent"]
          name      = ["disk_used_percent"]
        }
      }
    }
  }

  event_patterns = {
    disk = {
      source        = ["aws.cloudwatch"]
      "detail-type" = ["CloudWatch Alarm State Change"]
      detail = {
        state         = { value = ["ALARM"] }
        configuration = local.disk_alarm_configuration
        muteDetail    = { mutedByArn = [{ exists = false }] }
      }
    }
    ssh = {
      source        = ["aws.config"]
      "detail-type" = ["Config Rules Compliance Change"]
      detail = {
        messageType         = ["ComplianceChangeNotification"]
        configRuleName      = [var.config_rule_name]
        resourceType        = ["AWS::EC2::SecurityGroup"]
        newEvaluationResult = { complianceType = ["NON_COMPLIANT"] }
      }
    }
    disk_ok = {
      source        = ["aws.cloudwatch"]
      "detail-type" = ["CloudWatch Alarm State Change"]
      detail = {
        state         = { value = ["OK"] }
        configuration = local.disk_alarm_configuration
      }
    }
    ssh_ok = {
      source        = ["aws.config"]
      "detail-type" = ["Config Rules Compliance Change"]
      detail = {
        messageType         = ["ComplianceChangeNotification"]
        configRuleName      = [var.config_rule_name]
        resourceType        = ["AWS::EC2::SecurityGroup"]
        newEvaluationResult = { complianceType = ["COMPLIANT"] }
      }
    }
    cert = {
      source = ["aws.acm"]
      "detail-type" = [
        "ACM Certificate Approaching Expiration",
        "ACM Certificate Expired",
        "ACM Certificate Renewal Action Required",
      ]
    }
  }

  event_rule_descriptions = {
    disk    = "healer: CWAgent disk_used_percent alarm in ALARM"
    ssh     = "healer: security group NON_COMPLIANT with ${var.config_rule_name}"
    cert    = "healer: ACM certificate expiring, expired or needing action"
    disk_ok = "healer: CWAgent disk_used_percent alarm back to OK (closes tickets)"
    ssh_ok  = "healer: security group COMPLIANT again with ${var.config_rule_name} (closes tickets)"
  }
}

# dryRun per rule. Each rule starts executions of one diagnosis class
# (activities/event.c hl_event_class_name; the keys var.dry_run_by_class
# accepts). The recoveries follow their class: a recovery never changes
# anything in AWS, and closes the open healer tickets in dry run too
# (activities/recovery.c: tickets are records, not remediations); dryRun
# only marks its Jira comment "recorded by a dry-run deployment" and its
# audit item dryRun. A plain map and a for expression over it, in a locals
# block of their own (no resources), so tests/infra can evaluate them with
# and without terraform console.
locals {
  event_rule_classes = {
    disk    = "disk_pressure"
    disk_ok = "disk_pressure"
    ssh     = "public_ssh"
    ssh_ok  = "public_ssh"
    cert    = "cert_expiry"
  }

  event_dry_run = { for rule, class in local.event_rule_classes : rule => lookup(var.dry_run_by_class, class, var.dry_run) }
}

resource "aws_cloudwatch_event_rule" "engine" {
  for_each = local.event_patterns

  name          = "${var.name}-${each.key}"
  description   = local.event_rule_descriptions[each.key]
  event_pattern = jsonencode(each.value)
  tags          = local.tags
}

resource "aws_cloudwatch_event_target" "engine" {
  for_each = local.event_patterns

  rule      = aws_cloudwatch_event_rule.engine[each.key].name
  target_id = "${var.name}-engine"
  arn       = aws_sfn_state_machine.engine.arn
  role_arn  = aws_iam_role.events.arn

  input_transformer {
    input_template = "{\"event\": <aws.events.event.json>, \"dryRun\": ${local.event_dry_run[each.key]}}"
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "events" {
  name               = "${var.name}-events"
  description        = "EventBridge rules of healer: start the engine state machine"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "events" {
  statement {
    sid       = "StartEngine"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.engine.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "start-engine"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}
