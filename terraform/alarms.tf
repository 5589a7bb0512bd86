# The disk alarms: one CloudWatch alarm per entry of var.disk_alarms on the
# CloudWatch agent's disk_used_percent >= var.disk_threshold. Their state
# changes reach the engine through the "disk" EventBridge rule (events.tf);
# the alarms need no actions of their own.
#
# The pattern for instances not listed here: any single-metric alarm on
# CWAgent disk_used_percent whose dimensions include InstanceId and path
# starts the engine too (the rule matches the metric, not the alarm name),
# so alarms made elsewhere work as long as ssm:SendCommand is allowed on the
# instance (var.remediate_any_instance, or list it here). Metric-math and
# composite alarms are not remediated (see events.tf).

locals {
  disk_alarms = {
    for d in var.disk_alarms :
    "${d.instance_id}${d.path == "/" ? "-root" : replace(d.path, "/", "-")}" => d
  }
}

resource "aws_cloudwatch_metric_alarm" "disk" {
  for_each = local.disk_alarms

  alarm_name        = "${var.name}-disk-used-${each.key}"
  alarm_description = "healer: disk ${each.value.path} of ${each.value.instance_id} at or above ${var.disk_threshold} percent; the engine cleans it up"
  namespace         = "CWAgent"
  metric_name       = "disk_used_percent"
  dimensions = merge(
    { InstanceId = each.value.instance_id, path = each.value.path },
    each.value.device == null ? {} : { device = each.value.device },
    each.value.fstype == null ? {} : { fstype = each.value.fstype },
  )
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = var.disk_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "missing"
  tags                = local.tags
}
