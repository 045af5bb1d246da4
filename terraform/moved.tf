# Refactorings of resource addresses are recorded here with `moved` blocks so that
# `terraform apply` renames state instead of destroying and re-creating resources.
# There are none yet: this module replaces the original deployment, which used the
# deprecated `azurerm_function_app` and is not migrated in place (see docs/deployment.md).
