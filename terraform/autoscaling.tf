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
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
}

resource "aws_appautoscaling_policy" "scale_out" {
  name               = "${var.name}-backlog-scale-out"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 60
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = 10
      scaling_adjustment          = 1
    }

    step_adjustment {
      metric_interval_lower_bound = 10
      scaling_adjustment          = 2
    }
  }
}

resource "aws_appautoscaling_policy" "scale_in" {
  name               = "${var.name}-idle-scale-in"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 300
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_upper_bound = 0
      scaling_adjustment          = -1
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
  alarm_actions       = [aws_appautoscaling_policy.scale_out.arn]

  metric_query {
    id          = "backlog"
    label       = "scheduled - started"
    return_data = true
    expression = format("(%s) - (%s)",
      join(" + ", [for i, a in each.value : "FILL(s${i}, 0)"]),
    join(" + ", [for i, a in each.value : "FILL(t${i}, 0)"]))
  }

  dynamic "metric_query" {
    for_each = { for i, a in each.value : "s${i}" => a }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/States"
        metric_name = "ActivitiesScheduled"
        dimensions  = { ActivityArn = aws_sfn_activity.this[metric_query.value].id }
        period      = 60
        stat        = "Sum"
      }
    }
  }

  dynamic "metric_query" {
    for_each = { for i, a in each.value : "t${i}" => a }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/States"
        metric_name = "ActivitiesStarted"
        dimensions  = { ActivityArn = aws_sfn_activity.this[metric_query.value].id }
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
  alarm_actions       = [aws_appautoscaling_policy.scale_in.arn]

  metric_query {
    id          = "scheduled"
    label       = "activity tasks scheduled"
    return_data = true
    expression  = join(" + ", [for i, a in local.activity_names : "FILL(s${i}, 0)"])
  }

  dynamic "metric_query" {
    for_each = { for i, a in local.activity_names : "s${i}" => a }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/States"
        metric_name = "ActivitiesScheduled"
        dimensions  = { ActivityArn = aws_sfn_activity.this[metric_query.value].id }
        period      = 60
        stat        = "Sum"
      }
    }
  }

  tags = local.tags
}
