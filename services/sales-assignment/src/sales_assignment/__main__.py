from leadflow.runner import serve
from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.settings import AssignmentSettings

serve(AssignmentSettings, build_app, MIGRATIONS)
