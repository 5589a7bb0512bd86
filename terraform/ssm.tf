# Systems Manager pieces: the project's own disk-cleanup command document
# (fixed commands, no free-form shell; the worker may run only this one),
# the kill-switch parameter the guard reads, and the role the SSM
# automation AWS-DisablePublicAccessForSecurityGroup assumes.

resource "aws_ssm_document" "disk_cleanup" {
  name            = local.disk_document_name
  document_type   = "Command"
  document_format = "JSON"
  content         = file("${path.module}/../activities/disk-cleanup-document.json")
  tags            = local.tags
}

# Created enabled. Operators flip it with
#   aws ssm put-parameter --name /healer/enabled --value false --overwrite
# and Terraform leaves their value alone.
resource "aws_ssm_parameter" "kill_switch" {
  name        = var.kill_switch_parameter_name
  description = "healer kill switch: \"false\" stops all remediation within seconds"
  type        = "String"
  value       = "true"
  tags        = local.tags

  lifecycle {
    ignore_changes = [value]
  }
}

# ---- the role of the security-group automation -------------------------------

data "aws_iam_policy_document" "sg_automation_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ssm.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "sg_automation" {
  name               = "${var.name}-sg-automation"
  description        = "Assumed by SSM Automation AWS-DisablePublicAccessForSecurityGroup started by healer"
  assume_role_policy = data.aws_iam_policy_document.sg_automation_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "sg_automation" {
  # The runbook's documented permissions. EC2 Describe* actions have no
  # resource-level permissions: AWS requires "*".
  statement {
    sid       = "ReadGroups"
    actions   = ["ec2:DescribeSecurityGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "RevokeIngress"
    actions   = ["ec2:RevokeSecurityGroupIngress"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/*"]
  }

  # Defence in depth: the guard already refuses protected groups.
  dynamic "statement" {
    for_each = length(var.protected_security_group_ids) > 0 ? [1] : []
    content {
      sid       = "NeverTouchProtectedGroups"
      effect    = "Deny"
      actions   = ["ec2:RevokeSecurityGroupIngress"]
      resources = [for sg in var.protected_security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/${sg}"]
    }
  }
}

resource "aws_iam_role_policy" "sg_automation" {
  name   = "disable-public-ssh"
  role   = aws_iam_role.sg_automation.id
  policy = data.aws_iam_policy_document.sg_automation.json
}
