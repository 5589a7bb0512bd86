# The worker pool: an ECS cluster, a Fargate task definition running the
# healer image (Dockerfile) and a service whose task count autoscaling.tf
# moves between worker_min_count and worker_max_count.
#
# Shutdown: ECS sends SIGTERM, waits stopTimeout (120 s, the Fargate
# maximum), then SIGKILL. healer is PID 1 and handles SIGTERM itself
# (drains within HEALER_DRAIN_DEADLINE_S = 100 s, answering what it cannot
# finish with Healer.WorkerShutdown), so no init process is needed.
#
# Settings reach the worker as HEALER_* environment variables
# (docs/ACTIVITIES.md and `healer --help`); the Slack and Jira tokens as ECS
# secrets from Secrets Manager, never in the task definition. tests/infra
# checks every variable name against those two sources.

locals {
  worker_image    = coalesce(var.image, "${aws_ecr_repository.worker.repository_url}:${var.image_tag}")
  worker_user     = "10001:10001" # the Dockerfile's non-root user
  worker_log_name = "/${var.name}/worker"

  # Empty or null values are left out (the worker then uses its default).
  worker_environment = {
    AWS_REGION                     = local.region
    HEALER_ACTIVITIES              = join(",", [for a in local.activity_names : "${a}:${lookup(var.activity_slots, a, 4)}"])
    HEALER_ACTIVITY_ARN_PREFIX     = local.activity_arn_prefix
    HEALER_LOG_LEVEL               = var.log_level
    HEALER_DRAIN_DEADLINE_S        = "100"
    HEALER_HEARTBEAT_S             = tostring(max(1, floor(var.heartbeat_seconds / 3)))
    HEALER_HEALTH_FILE             = "/tmp/healer-health.json"
    HEALER_KILL_SWITCH_PARAM       = aws_ssm_parameter.kill_switch.name
    HEALER_BREAKER_TABLE           = aws_dynamodb_table.breaker.name
    HEALER_BREAKER_MAX             = tostring(var.breaker_max)
    HEALER_BLAST_MAX_PER_HOUR      = tostring(var.blast_max_per_hour)
    HEALER_BLAST_MAX_PER_CLASS_10M = tostring(var.blast_max_per_class_10m)
    HEALER_PROTECTED_SGS           = join(",", var.protected_security_group_ids)
    HEALER_BREAK_GLASS_ACCOUNTS    = join(",", var.break_glass_account_ids)
    HEALER_DISK_DOCUMENT           = aws_ssm_document.disk_cleanup.name
    HEALER_DISK_THRESHOLD          = tostring(var.disk_threshold)
    HEALER_SG_AUTOMATION_ROLE_ARN  = aws_iam_role.sg_automation.arn
    HEALER_AUDIT_TABLE             = aws_dynamodb_table.audit.name
    HEALER_SLACK_CHANNEL           = var.slack_channel
    HEALER_SLACK_API_URL           = var.slack_api_url
    HEALER_JIRA_URL                = var.jira_url
    HEALER_JIRA_EMAIL              = var.jira_email
    HEALER_JIRA_PROJECT            = var.jira_project
  }

  # Tuning settings the module does not manage (docs/ACTIVITIES.md and
  # `healer --help`, e.g. HEALER_KILL_SWITCH_CACHE_S); the module's own
  # values win.
  worker_environment_all = merge(var.extra_environment, local.worker_environment)

  worker_secrets = {
    HEALER_SLACK_TOKEN    = var.slack_token_secret_arn
    HEALER_JIRA_API_TOKEN = var.jira_api_token_secret_arn
  }
  worker_secret_arns = [for k, v in local.worker_secrets : v if v != null]
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = local.worker_log_name
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

# Outbound HTTPS only (AWS APIs, Slack, Jira); nothing may connect in.
resource "aws_security_group" "worker" {
  name        = "${var.name}-worker"
  description = "healer workers: outbound HTTPS only"
  vpc_id      = data.aws_subnet.first.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_egress_rule" "worker_https_v4" {
  security_group_id = aws_security_group.worker.id
  description       = "HTTPS to AWS APIs, Slack and Jira"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "worker_https_v6" {
  security_group_id = aws_security_group.worker.id
  description       = "HTTPS to AWS APIs, Slack and Jira"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv6         = "::/0"
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # The root filesystem is read-only; the health file lives on this scratch
  # volume.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "healer"
    image                  = local.worker_image
    essential              = true
    user                   = local.worker_user
    readonlyRootFilesystem = true
    stopTimeout            = 120
    linuxParameters        = { initProcessEnabled = false }
    environment = [
      for k in sort(keys(local.worker_environment_all)) : { name = k, value = local.worker_environment_all[k] }
      if local.worker_environment_all[k] != null && local.worker_environment_all[k] != ""
    ]
    secrets = [
      for k in sort(keys(local.worker_secrets)) : { name = k, valueFrom = local.worker_secrets[k] }
      if local.worker_secrets[k] != null
    ]
    healthCheck = {
      command     = ["CMD", "/usr/local/bin/healer", "health"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.worker.name
        awslogs-region        = local.region
        awslogs-stream-prefix = "worker"
        mode                  = "non-blocking"
        max-buffer-size       = "4m"
      }
    }
  }])

  tags = local.tags
}

resource "aws_ecs_service" "worker" {
  name                   = "${var.name}-worker"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.worker.arn
  desired_count          = var.worker_min_count
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  enable_execute_command = false
  propagate_tags         = "SERVICE"

  # Replace tasks without ever dropping below the running count: a stopping
  # task drains its open polls while the new one already polls.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = var.assign_public_ip
  }

  tags = local.tags

  lifecycle {
    # autoscaling.tf owns the task count.
    ignore_changes = [desired_count]

    precondition {
      condition     = var.worker_min_count <= var.worker_max_count
      error_message = "worker_min_count must not exceed worker_max_count."
    }
  }
}
