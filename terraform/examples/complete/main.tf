# A complete deployment of healer: the provider and the module with the
# handful of settings a team has to decide. `terraform apply` here (after
# `terraform init`), push the image to the printed repository, and the
# workers start polling.

provider "aws" {
  region = var.region

  default_tags {
    tags = { "managed-by" = "terraform" }
  }
}

module "healer" {
  source = "../.."

  name       = "healer"
  subnet_ids = var.subnet_ids
  image_tag  = var.image_tag

  dry_run              = var.dry_run
  dry_run_by_class     = var.dry_run_by_class
  confidence_threshold = 0.8
  worker_min_count     = 1
  worker_max_count     = 4

  disk_alarms = [for id in var.instance_ids : {
    instance_id = id
    path        = "/"
    device      = var.root_device
    fstype      = var.root_fstype
  }]

  protected_security_group_ids = var.protected_security_group_ids
  break_glass_account_ids      = var.break_glass_account_ids

  slack_token_secret_arn    = var.slack_token_secret_arn
  slack_channel             = var.slack_channel
  jira_api_token_secret_arn = var.jira_api_token_secret_arn
  jira_url                  = var.jira_url
  jira_email                = var.jira_email
  jira_project              = var.jira_project
}
