# Inputs of the healer module: typed, described and validated here so a bad
# value fails at plan time with a message, not at 3 a.m. in a worker.

# ---- deployment --------------------------------------------------------------

variable "name" {
  description = "Name prefix of every resource (activities are <name>-<activity>, the state machine <name>-engine)."
  type        = string
  default     = "healer"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "name must be 1-24 characters: lower-case letters, digits and '-', starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

variable "dry_run" {
  description = "Deployment default for the executions' dryRun flag (set by the EventBridge input transformer): true = report what would be done, change nothing. dry_run_by_class overrides it per class."
  type        = bool
  default     = true
}

variable "dry_run_by_class" {
  description = "dryRun per diagnosis class, overriding dry_run for that class's rules (its alarm and its recovery): e.g. { disk_pressure = false } lets the disk cleanup act while the other classes follow dry_run. Keys: disk_pressure, public_ssh, cert_expiry; a class not in the map follows dry_run."
  type        = map(bool)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.dry_run_by_class : contains(["disk_pressure", "public_ssh", "cert_expiry"], k) && v != null])
    error_message = "dry_run_by_class keys must be diagnosis classes (disk_pressure, public_ssh, cert_expiry) and values true or false."
  }
}

variable "log_retention_days" {
  description = "Retention of the workers' and the state machine's CloudWatch log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when executions fail or time out (the engine's own health). Empty = alarms without actions."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", a))])
    error_message = "alarm_actions must be SNS topic ARNs."
  }
}

# ---- network and container ---------------------------------------------------

variable "subnet_ids" {
  description = "Subnets of the Fargate workers (private subnets with a NAT gateway or VPC endpoints for states, ssm, acm, dynamodb, config, tagging, secretsmanager, ecr, logs). The VPC is taken from the first."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must be one or more subnet ids (subnet-0123abcd...)."
  }
}

variable "assign_public_ip" {
  description = "Give the workers public IPs (only for public subnets without NAT; the security group still allows no inbound traffic)."
  type        = bool
  default     = false
}

variable "image" {
  description = "Worker image reference. null = this module's ECR repository at image_tag."
  type        = string
  default     = null

  validation {
    condition     = var.image == null || can(regex("^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", var.image))
    error_message = "image must be a full image reference with a tag or a sha256 digest."
  }
}

variable "image_tag" {
  description = "Tag of the worker image in this module's ECR repository (used when image is null; the repository's tags are immutable)."
  type        = string
  default     = "0.1.0"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "task_memory" {
  description = "Fargate task memory (MiB); must suit task_cpu."
  type        = number
  default     = 512

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720
    error_message = "task_memory must be between 512 and 30720 MiB."
  }
}

# ---- workers and scaling -----------------------------------------------------

variable "worker_min_count" {
  description = "Fewest worker tasks (never 0: a task must be polling for work to start quickly)."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_min_count >= 1 && floor(var.worker_min_count) == var.worker_min_count
    error_message = "worker_min_count must be a whole number >= 1."
  }
}

variable "worker_max_count" {
  description = "Most worker tasks the backlog scaling may run."
  type        = number
  default     = 4

  validation {
    condition     = var.worker_max_count >= 1 && var.worker_max_count <= 100 && floor(var.worker_max_count) == var.worker_max_count
    error_message = "worker_max_count must be a whole number between 1 and 100."
  }
}

variable "activity_slots" {
  description = "Concurrent tasks (open polls) per activity in each worker task; activities not listed get 4."
  type        = map(number)
  default = {
    guard            = 8
    diagnose         = 8
    "remediate-disk" = 4
    "remediate-sg"   = 4
    "renew-cert"     = 4
    ticket           = 4
    notify           = 4
    audit            = 4
  }

  validation {
    condition = alltrue([for k, v in var.activity_slots :
      contains(["guard", "diagnose", "remediate-disk", "remediate-sg", "renew-cert", "ticket", "notify", "audit"], k)
    && v >= 1 && v <= 1000 && floor(v) == v])
    error_message = "activity_slots keys must be activity names (guard, diagnose, remediate-disk, remediate-sg, renew-cert, ticket, notify, audit) and values whole numbers 1..1000."
  }
}

variable "scale_out_backlog" {
  description = "Scale out when (ActivitiesScheduled - ActivitiesStarted) over one minute, summed over a group of activities, reaches this."
  type        = number
  default     = 1

  validation {
    condition     = var.scale_out_backlog >= 1
    error_message = "scale_out_backlog must be >= 1."
  }
}

variable "scale_in_idle_minutes" {
  description = "Scale in by one task after this many minutes without any activity task scheduled."
  type        = number
  default     = 15

  validation {
    condition     = var.scale_in_idle_minutes >= 5 && var.scale_in_idle_minutes <= 1440
    error_message = "scale_in_idle_minutes must be between 5 and 1440."
  }
}

variable "extra_environment" {
  description = "More HEALER_* settings for the workers (tuning knobs from docs/ACTIVITIES.md and `healer --help`, e.g. HEALER_KILL_SWITCH_CACHE_S). Settings the module manages win; the tokens cannot be given here."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for k, v in var.extra_environment :
      can(regex("^HEALER_[A-Z0-9_]{1,64}$", k)) && !contains(["HEALER_SLACK_TOKEN", "HEALER_JIRA_API_TOKEN"], k)
    && length(v) <= 4096])
    error_message = "extra_environment keys must be HEALER_* settings other than the two tokens (use the *_secret_arn variables); values at most 4096 characters."
  }
}

variable "log_level" {
  description = "Worker log level."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error", "off"], var.log_level)
    error_message = "log_level must be debug, info, warn, error or off."
  }
}

# ---- state machine -----------------------------------------------------------

variable "confidence_threshold" {
  description = "Route sends a diagnosis to its remediation only when confidence >= this; below it escalates to a person."
  type        = number
  default     = 0.8

  validation {
    condition     = var.confidence_threshold > 0 && var.confidence_threshold <= 1
    error_message = "confidence_threshold must be in (0, 1]."
  }
}

variable "heartbeat_seconds" {
  description = "HeartbeatSeconds of every Task state; the workers heartbeat every third of it. Must be below both timeouts."
  type        = number
  default     = 60

  validation {
    condition     = var.heartbeat_seconds >= 10 && var.heartbeat_seconds <= 3600 && floor(var.heartbeat_seconds) == var.heartbeat_seconds
    error_message = "heartbeat_seconds must be a whole number between 10 and 3600."
  }
}

variable "task_timeout_seconds" {
  description = "TimeoutSeconds of guard, diagnose, ticket, notify and audit."
  type        = number
  default     = 300

  validation {
    condition     = var.task_timeout_seconds >= 30 && var.task_timeout_seconds <= 86400 && floor(var.task_timeout_seconds) == var.task_timeout_seconds
    error_message = "task_timeout_seconds must be a whole number between 30 and 86400."
  }
}

variable "remediation_timeout_seconds" {
  description = "TimeoutSeconds of remediate-disk, remediate-sg and renew-cert (an SSM command or automation runs inside)."
  type        = number
  default     = 1800

  validation {
    condition     = var.remediation_timeout_seconds >= 60 && var.remediation_timeout_seconds <= 86400 && floor(var.remediation_timeout_seconds) == var.remediation_timeout_seconds
    error_message = "remediation_timeout_seconds must be a whole number between 60 and 86400."
  }
}

variable "retry_max_attempts" {
  description = "Retries of a Task state after States.Timeout, States.HeartbeatTimeout or Healer.Throttled (Healer.WorkerShutdown always gets 3)."
  type        = number
  default     = 2

  validation {
    condition     = var.retry_max_attempts >= 1 && var.retry_max_attempts <= 5 && floor(var.retry_max_attempts) == var.retry_max_attempts
    error_message = "retry_max_attempts must be a whole number between 1 and 5."
  }
}

variable "state_machine_log_level" {
  description = "Step Functions execution log level (ALL, ERROR, FATAL, OFF)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

# ---- guard -------------------------------------------------------------------

variable "kill_switch_parameter_name" {
  description = "SSM parameter the guard reads: \"false\" stops all remediation within seconds. Created with \"true\"; later changes are left alone."
  type        = string
  default     = "/healer/enabled"

  validation {
    condition     = can(regex("^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.kill_switch_parameter_name))
    error_message = "kill_switch_parameter_name must be an absolute SSM parameter name such as /healer/enabled."
  }
}

variable "breaker_max" {
  description = "Circuit breaker: most remediations of one resource per hour before escalating."
  type        = number
  default     = 3

  validation {
    condition     = var.breaker_max >= 1 && var.breaker_max <= 100 && floor(var.breaker_max) == var.breaker_max
    error_message = "breaker_max must be a whole number between 1 and 100."
  }
}

variable "blast_max_per_hour" {
  description = "Blast-radius limit: most remediations across all resources in a rolling hour; one more stops the engine until `healer enable`."
  type        = number
  default     = 20

  validation {
    condition     = var.blast_max_per_hour >= 1 && var.blast_max_per_hour <= 10000 && floor(var.blast_max_per_hour) == var.blast_max_per_hour
    error_message = "blast_max_per_hour must be a whole number between 1 and 10000."
  }
}

variable "blast_max_per_class_10m" {
  description = "Blast-radius limit: most remediations of one class (disk, SSH, certificate) in 10 minutes; one more stops the engine until `healer enable`."
  type        = number
  default     = 5

  validation {
    condition     = var.blast_max_per_class_10m >= 1 && var.blast_max_per_class_10m <= 10000 && floor(var.blast_max_per_class_10m) == var.blast_max_per_class_10m
    error_message = "blast_max_per_class_10m must be a whole number between 1 and 10000."
  }
}

variable "protected_security_group_ids" {
  description = "Security groups the engine never changes (escalated instead); the automation role is also denied changing them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.protected_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "protected_security_group_ids must be security group ids (sg-0123abcd...)."
  }
}

variable "break_glass_account_ids" {
  description = "Accounts whose resources are never remediated (escalated instead)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.break_glass_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "break_glass_account_ids must be 12-digit account ids."
  }
}

# ---- disk --------------------------------------------------------------------

variable "disk_alarms" {
  description = <<-EOT
    One CloudWatch alarm on CWAgent disk_used_percent >= disk_threshold per entry. The
    dimensions must be exactly those the CloudWatch agent publishes: InstanceId and path
    always, device and fstype unless the agent's disk section sets "drop_device": true
    (then leave device null) or its append_dimensions add more (not supported here).
  EOT
  type = list(object({
    instance_id = string
    path        = optional(string, "/")
    device      = optional(string)
    fstype      = optional(string)
  }))
  default = []

  validation {
    condition = alltrue([for d in var.disk_alarms :
      can(regex("^i-[0-9a-f]{8,17}$", d.instance_id)) && can(regex("^/[A-Za-z0-9_./-]*$", d.path))
    && (d.device == null || can(regex("^[A-Za-z0-9_-]{1,64}$", d.device))) && (d.fstype == null || can(regex("^[a-z0-9]{1,16}$", d.fstype)))])
    error_message = "disk_alarms: instance_id must be i-<8..17 hex>, path absolute, device and fstype plain names."
  }
}

variable "disk_threshold" {
  description = "Disk used percent that raises the alarm and that the cleanup must get below."
  type        = number
  default     = 85

  validation {
    condition     = var.disk_threshold >= 50 && var.disk_threshold <= 99
    error_message = "disk_threshold must be between 50 and 99."
  }
}

variable "remediate_any_instance" {
  description = "Allow ssm:SendCommand of the cleanup document on every instance of the account (default: only the instances in disk_alarms)."
  type        = bool
  default     = false
}

# ---- security groups ---------------------------------------------------------

variable "create_config_rule" {
  description = "Create the AWS Config managed rule restricted-ssh (INCOMING_SSH_DISABLED). Needs an AWS Config recorder in the region. false = use an existing rule named config_rule_name."
  type        = bool
  default     = true
}

variable "config_rule_name" {
  description = "Name of the restricted-ssh Config rule whose NON_COMPLIANT results start the engine."
  type        = string
  default     = "restricted-ssh"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.config_rule_name))
    error_message = "config_rule_name must be 1-128 letters, digits, '_' or '-'."
  }
}

# ---- ticket and notify -------------------------------------------------------

variable "slack_token_secret_arn" {
  description = "Secrets Manager secret holding the Slack bot token (HEALER_SLACK_TOKEN). null = no Slack notifications."
  type        = string
  default     = null

  validation {
    condition     = var.slack_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.slack_token_secret_arn))
    error_message = "slack_token_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "slack_channel" {
  description = "Slack channel id for alerts (e.g. C0123456789)."
  type        = string
  default     = null

  validation {
    condition     = var.slack_channel == null || can(regex("^[CGD][A-Z0-9]{6,20}$", var.slack_channel))
    error_message = "slack_channel must be a Slack channel id such as C0123456789."
  }
}

variable "slack_api_url" {
  description = "Slack Web API base URL."
  type        = string
  default     = "https://slack.com/api"

  validation {
    condition     = can(regex("^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~/-]*)?$", var.slack_api_url))
    error_message = "slack_api_url must be an https URL."
  }
}

variable "jira_api_token_secret_arn" {
  description = "Secrets Manager secret holding the Jira API token (HEALER_JIRA_API_TOKEN). null = no Jira tickets."
  type        = string
  default     = null

  validation {
    condition     = var.jira_api_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.jira_api_token_secret_arn))
    error_message = "jira_api_token_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "jira_url" {
  description = "Jira Cloud site, e.g. https://example.atlassian.net."
  type        = string
  default     = null

  validation {
    condition     = var.jira_url == null || can(regex("^https://[A-Za-z0-9.-]+/?$", var.jira_url))
    error_message = "jira_url must be an https URL without a path."
  }
}

variable "jira_email" {
  description = "Account e-mail of the Jira API token."
  type        = string
  default     = null

  validation {
    condition     = var.jira_email == null || can(regex("^[^@\\s]+@[^@\\s]+$", var.jira_email))
    error_message = "jira_email must be an e-mail address."
  }
}

variable "jira_project" {
  description = "Jira project key for tickets, e.g. OPS."
  type        = string
  default     = null

  validation {
    condition     = var.jira_project == null || can(regex("^[A-Z][A-Z0-9_]{1,9}$", var.jira_project))
    error_message = "jira_project must be a Jira project key such as OPS."
  }
}

variable "secrets_kms_key_arns" {
  description = "Customer managed KMS keys that encrypt the Slack/Jira secrets (kms:Decrypt is granted to the task execution role on these only). Empty when the secrets use the AWS managed key."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.secrets_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", k))])
    error_message = "secrets_kms_key_arns must be KMS key ARNs."
  }
}

# ---- data --------------------------------------------------------------------

variable "audit_deletion_protection" {
  description = "Protect the audit table against deletion (terraform destroy fails until this is false)."
  type        = bool
  default     = true
}
