# One CloudWatch dashboard for the engine: how the activities queue and run
# (AWS/States, per activity and for the state machine), what the engine did
# (the workers' outcome metrics: remediations by class and result,
# escalations, guard decisions, breaker trips, blast-radius stops) and the
# pool (worker count, busy slots, open polls).
#
# Healer-namespace metrics are EMF lines the workers print (worker/metrics.c
# once per HEALER_METRICS_INTERVAL_S, activities/outcome_metrics.c once per
# outcome; docs/ACTIVITIES.md "Metrics"); tests/infra/check_dashboard.js
# holds every metric named here to what the C code emits and to the real
# AWS/States names. The outcome metrics, whose dimension values vary, are
# read with SEARCH so every class/result that occurred shows up.
#
# Every metric array starts with its namespace and metric name written out
# as literals (no "." shorthand) so the check can read them.

locals {
  dashboard_period = 60

  # outputs.tf dashboard_url; the console's domain per partition.
  dashboard_console = lookup({ "aws-cn" = "console.amazonaws.cn", "aws-us-gov" = "console.amazonaws-us-gov.com" }, local.partition, "console.aws.amazon.com")
  dashboard_url     = "https://${local.region}.${local.dashboard_console}/cloudwatch/home?region=${local.region}#dashboards:name=${aws_cloudwatch_dashboard.engine.dashboard_name}"

  # The pool-wide line comes once per interval from every worker: its Sum
  # over a period, times interval / period, is the number of workers (and
  # the pool's total busy slots, open polls, slots) whatever the period the
  # graph is zoomed to.
  dashboard_metrics_interval_s = max(1, try(tonumber(lookup(var.extra_environment, "HEALER_METRICS_INTERVAL_S", "60")), 60))

  # Metric-math ids must start with a lower-case letter: activity i -> a<i>.
  dashboard_activities = [for i, name in local.activity_names : {
    id   = "a${i}"
    name = name
    arn  = aws_sfn_activity.this[name].id
  }]

  dashboard_widgets = [
    {
      title = "Backlog growth per minute: ActivitiesScheduled - ActivitiesStarted (AWS/States has no queue length)"
      metrics = concat(
        [for a in local.dashboard_activities : ["AWS/States", "ActivitiesScheduled", "ActivityArn", a.arn, { id = "${a.id}s", visible = false }]],
        [for a in local.dashboard_activities : ["AWS/States", "ActivitiesStarted", "ActivityArn", a.arn, { id = "${a.id}t", visible = false }]],
        [for a in local.dashboard_activities : [{ expression = "${a.id}s - ${a.id}t", label = a.name, id = "${a.id}b" }]],
      )
      stat = "Sum"
    },
    {
      title   = "Schedule-to-start latency p90 (ActivityScheduleTime, ms)"
      metrics = [for a in local.dashboard_activities : ["AWS/States", "ActivityScheduleTime", "ActivityArn", a.arn, { label = a.name }]]
      stat    = "p90"
    },
    {
      title   = "Schedule-to-start latency max (ActivityScheduleTime, ms)"
      metrics = [for a in local.dashboard_activities : ["AWS/States", "ActivityScheduleTime", "ActivityArn", a.arn, { label = a.name }]]
      stat    = "Maximum"
    },
    {
      title = "Activity tasks failed / timed out (AWS/States)"
      metrics = concat(
        [for a in local.dashboard_activities : ["AWS/States", "ActivitiesFailed", "ActivityArn", a.arn, { label = "${a.name} failed" }]],
        [for a in local.dashboard_activities : ["AWS/States", "ActivitiesTimedOut", "ActivityArn", a.arn, { label = "${a.name} timed out" }]],
        [for a in local.dashboard_activities : ["AWS/States", "ActivitiesHeartbeatTimedOut", "ActivityArn", a.arn, { label = "${a.name} heartbeat timed out" }]],
      )
      stat = "Sum"
    },
    {
      title   = "Activity run time p90 (ActivityRunTime, ms)"
      metrics = [for a in local.dashboard_activities : ["AWS/States", "ActivityRunTime", "ActivityArn", a.arn, { label = a.name }]]
      stat    = "p90"
    },
    {
      title = "Tasks succeeded / failed (workers)"
      metrics = concat(
        [for a in local.dashboard_activities : ["Healer", "TasksSucceeded", "Activity", a.name, { label = "${a.name} succeeded" }]],
        [for a in local.dashboard_activities : ["Healer", "TasksFailed", "Activity", a.name, { label = "${a.name} failed" }]],
      )
      stat = "Sum"
    },
    {
      title = "Executions (engine state machine)"
      metrics = [
        ["AWS/States", "ExecutionsStarted", "StateMachineArn", aws_sfn_state_machine.engine.arn],
        ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", aws_sfn_state_machine.engine.arn],
        ["AWS/States", "ExecutionsFailed", "StateMachineArn", aws_sfn_state_machine.engine.arn],
        ["AWS/States", "ExecutionsTimedOut", "StateMachineArn", aws_sfn_state_machine.engine.arn],
        ["AWS/States", "ExecutionsAborted", "StateMachineArn", aws_sfn_state_machine.engine.arn],
      ]
      stat = "Sum"
    },
    {
      title   = "Remediations by class and result"
      metrics = [[{ expression = "SEARCH('{Healer,Class,Result} MetricName=\"Remediations\"', 'Sum', ${local.dashboard_period})", id = "rem" }]]
      stat    = "Sum"
    },
    {
      title   = "Escalations by class"
      metrics = [[{ expression = "SEARCH('{Healer,Class} MetricName=\"Escalations\"', 'Sum', ${local.dashboard_period})", id = "esc" }]]
      stat    = "Sum"
    },
    {
      title = "Breaker trips by class, blast-radius stops"
      metrics = [
        [{ expression = "SEARCH('{Healer,Class} MetricName=\"BreakerTrips\"', 'Sum', ${local.dashboard_period})", id = "trips" }],
        ["Healer", "BlastRadiusStopped", { label = "blast-radius stops" }],
      ]
      stat = "Sum"
    },
    {
      title   = "Guard decisions"
      metrics = [[{ expression = "SEARCH('{Healer,Decision} MetricName=\"GuardDecisions\"', 'Sum', ${local.dashboard_period})", id = "guard" }]]
      stat    = "Sum"
    },
    {
      title = "Workers (pool-wide EMF line per worker per ${local.dashboard_metrics_interval_s} s; ECS running tasks)"
      metrics = [
        ["Healer", "Workers", { id = "w", visible = false }],
        [{ expression = "w * ${local.dashboard_metrics_interval_s} / PERIOD(w)", label = "workers reporting", id = "workers" }],
        ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", aws_ecs_cluster.this.name, "ServiceName", aws_ecs_service.worker.name, { label = "ECS running tasks", stat = "Average" }],
      ]
      stat = "Sum"
    },
    {
      title = "Pool: busy slots / open polls / slots (all workers)"
      metrics = [
        ["Healer", "BusySlots", { id = "busy", visible = false }],
        ["Healer", "OpenPolls", { id = "polls", visible = false }],
        ["Healer", "Slots", { id = "slots", visible = false }],
        [{ expression = "busy * ${local.dashboard_metrics_interval_s} / PERIOD(busy)", label = "busy slots", id = "busyn" }],
        [{ expression = "polls * ${local.dashboard_metrics_interval_s} / PERIOD(polls)", label = "open polls", id = "pollsn" }],
        [{ expression = "slots * ${local.dashboard_metrics_interval_s} / PERIOD(slots)", label = "slots", id = "slotsn" }],
      ]
      stat = "Sum"
    },
  ]
}

resource "aws_cloudwatch_dashboard" "engine" {
  # Dashboard names are per account, not per Region: two regional
  # deployments with the same name must not overwrite each other.
  dashboard_name = "${var.name}-${local.region}"
  dashboard_body = jsonencode({
    widgets = [for i, w in local.dashboard_widgets : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = floor(i / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = w.title
        region  = local.region
        view    = "timeSeries"
        stacked = false
        period  = local.dashboard_period
        stat    = w.stat
        metrics = w.metrics
      }
    }]
  })
}
