# Shared names, identity lookups and the settings every concern file uses.
#
# The module deploys the whole engine: the Step Functions activities and the
# engine state machine (stepfunctions.tf), the EventBridge rules that start
# it (events.tf), the disk alarms (alarms.tf), the AWS Config rule
# (config.tf), the DynamoDB tables (dynamodb.tf), the SSM command document,
# kill switch and SG automation role (ssm.tf), the ECR repository (ecr.tf),
# the ECS/Fargate workers (ecs.tf), their IAM roles (iam.tf) and their
# scaling on activity backlog (autoscaling.tf).

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

# The VPC comes from the first subnet: one variable less to get wrong.
data "aws_subnet" "first" {
  id = var.subnet_ids[0]
}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.region
  partition = data.aws_partition.current.partition

  # Every activity the engine state machine uses (docs/ACTIVITIES.md). The
  # activity ARN is "<prefix><name>"; the workers get the prefix.
  activity_names      = ["guard", "diagnose", "remediate-disk", "remediate-sg", "renew-cert", "ticket", "notify", "audit", "recover"]
  activity_arn_prefix = "arn:${local.partition}:states:${local.region}:${local.account}:activity:${var.name}-"

  disk_document_name = "${var.name}-disk-cleanup"

  tags = merge({ "healer:deployment" = var.name }, var.tags)
}
