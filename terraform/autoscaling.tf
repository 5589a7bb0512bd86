# Worker scaling on activity backlog (Application Auto Scaling, step
# scaling on CloudWatch metric-math alarms; AWS uses its service-linked
# role, no role here).
#
# Backlog = ActivitiesScheduled - ActivitiesStarted (AWS/States, per
# activity, per minute): positive when tasks arrive faster than the workers'
# polls take them. A metric-math alarm may read at most 10 metrics, so the
# nine activities are split into groups of five; any group's backlog at or
# above scale_out_backlog for two minutes adds tasks (+1, or +2 when the
# backlog is 10 above). Scale-in is deliberately slow and needs every
# activity idle: one task less after scale_in_idle_minutes without a single
# ActivitiesScheduled (nine metrics: fits one alarm). Never below
# worker_min_count, never above worker_max_count.

locals {
  scaling_groups = { for i, g in chunklist(local.activity_names, 5) : tostring(i) => g }

  # The metric_query blocks of the alarms below, id => [metric, activity]:
  # s<i> ActivitiesScheduled and t<i> ActivitiesStarted of each group's
  # activities; for the idle alarm s<i> of every activity.
  backlog_queries = { for k, g in local.scaling_groups : k => merge(
    { for i, a in g : "s${i}" => ["ActivitiesScheduled", a] },
    { for i, a in g : "t${i}" => ["ActivitiesStarted", a] },
  ) }
  idle_queries = { for i, a in local.activity_names : "s${i}" => ["ActivitiesScheduled", a] }

  # The two step-scaling policies: scale out by 1 from a backlog of
  # scale_out_backlog (the alarm's threshold), by 2 from 10 above it; scale
  # in by 1. A null bound is open.
  scaling_policies = {
    "backlog-scale-out" = {
      cooldown = 60
      steps = [
        { lower = 0, upper = 10, adjust = 1 },
        { lower = 10, upper = null, adjust = 2 },
      ]
    }
    "idle-scale-in" = {
      cooldown = 300
      steps    = [{ lower = null, upper = 0, adjust = -1 }]
    }
  }
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
}

# The two policies were separate resources (scale_out, scale_in) before
# they shared this one: without these blocks an existing stack would create
# the new addresses and then destroy the old ones, and since a policy is
# deleted by name, that would delete the policies the new addresses stand for.
moved {
  from = aws_appautoscaling_policy.scale_out
  to   = aws_appautoscaling_policy.worker["backlog-scale-out"]
}

moved {
  from = aws_appautoscaling_policy.scale_in
  to   = aws_appautoscaling_policy.worker["idle-scale-in"]
}

resource "aws_appautoscaling_policy" "worker" {
  for_each = local.scaling_policies

  name               = "${var.name}-${each.key}"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = each.value.cooldown
    metric_aggregation_type = "Maximum"

    dynamic "step_adjustment" {
      for_each = each.value.steps
      content {
        metric_interval_lower_bound = step_adjustment.value.lower
        metric_interval_upper_bound = step_adjustment.value.upper
        scaling_adjustment          = step_adjustment.value.adjust
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "backlog" {
  for_each = local.scaling_groups

  alarm_name          = "${var.name}-backlog-${each.key}"
  alarm_description   = "healer: ActivitiesScheduled - ActivitiesStarted of ${join(", ", each.value)} >= ${var.scale_out_backlog}: add workers"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.scale_out_backlog
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.worker["backlog-scale-out"].arn]

  metric_query {
    id          = "backlog"
    label       = "scheduled - started"
    return_data = true
    expression = format("(%s) - (%s)",
      join(" + ", [for i, a in each.value : "FILL(s${i}, 0)"]),
    join(" + ", [for i, a in each.value : "FILL(t${i}, 0)"]))
  }

  dynamic "metric_query" {
    for_each = local.backlog_queries[each.key]
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/States"
        metric_name = metric_query.value[0]
        dimensions  = { ActivityArn = aws_sfn_activity.this[metric_query.value[1]].id }
        period      = 60
        stat        = "Sum"
      }
    }
  }

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "idle" {
  alarm_name          = "${var.name}-idle"
  alarm_description   = "healer: no activity task scheduled for ${var.scale_in_idle_minutes} minutes: one worker less"
  comparison_operator = "LessThanOrEqualToThreshold"
  threshold           = 0
  evaluation_periods  = var.scale_in_idle_minutes
  datapoints_to_alarm = var.scale_in_idle_minutes
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_appautoscaling_policy.worker["idle-scale-in"].arn]

  metric_query {
    id          = "scheduled"
    label       = "activity tasks scheduled"
    return_data = true
    expression  = join(" + ", [for i, a in local.activity_names : "FILL(s${i}, 0)"])
  }

  dynamic "metric_query" {
    for_each = local.idle_queries
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/States"
        metric_name = metric_query.value[0]
        dimensions  = { ActivityArn = aws_sfn_activity.this[metric_query.value[1]].id }
        period      = 60
        stat        = "Sum"
      }
    }
  }

  tags = local.tags
}
