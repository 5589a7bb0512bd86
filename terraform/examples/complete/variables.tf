# Inputs of the complete example; the module validates them again.

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "subnet_ids" {
  description = "Private subnets (with NAT or VPC endpoints) for the workers."
  type        = list(string)
}

variable "image_tag" {
  description = "Tag of the worker image pushed to the module's ECR repository."
  type        = string
  default     = "0.1.0"
}

variable "dry_run" {
  description = "Start in dry-run: the engine reports what it would do and changes nothing."
  type        = bool
  default     = true
}

variable "dry_run_by_class" {
  description = "dryRun per diagnosis class (disk_pressure, public_ssh, cert_expiry), overriding dry_run for that class; a class not in the map follows dry_run."
  type        = map(bool)
  default     = {}
}

variable "instance_ids" {
  description = "Instances whose root filesystem gets a disk_used_percent alarm."
  type        = list(string)
  default     = []
}

# The alarm's dimensions must equal what the CloudWatch agent publishes:
# InstanceId, path, device, fstype by default (defaults below: Amazon Linux
# 2023 on Nitro); with the agent's "drop_device": true set root_device = null.
variable "root_device" {
  description = "device dimension of the root filesystem's disk_used_percent (null when the agent drops it)."
  type        = string
  default     = "nvme0n1p1"
}

variable "root_fstype" {
  description = "fstype dimension of the root filesystem's disk_used_percent."
  type        = string
  default     = "xfs"
}

variable "protected_security_group_ids" {
  description = "Security groups never changed automatically."
  type        = list(string)
  default     = []
}

variable "break_glass_account_ids" {
  description = "Accounts never remediated automatically."
  type        = list(string)
  default     = []
}

variable "slack_token_secret_arn" {
  description = "Secrets Manager ARN of the Slack bot token (null: no Slack)."
  type        = string
  default     = null
}

variable "slack_channel" {
  description = "Slack channel id for alerts."
  type        = string
  default     = null
}

variable "jira_api_token_secret_arn" {
  description = "Secrets Manager ARN of the Jira API token (null: no Jira)."
  type        = string
  default     = null
}

variable "jira_url" {
  description = "Jira Cloud site URL."
  type        = string
  default     = null
}

variable "jira_email" {
  description = "Account e-mail of the Jira API token."
  type        = string
  default     = null
}

variable "jira_project" {
  description = "Jira project key."
  type        = string
  default     = null
}
