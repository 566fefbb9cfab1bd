from leadflow.migrations import run_env
from leadflow.outbox import kernel_metadata
from sales_assignment.models import Base

run_env([kernel_metadata, Base.metadata])
