#[path = "integration/iam_templates.rs"]
mod iam_templates;
