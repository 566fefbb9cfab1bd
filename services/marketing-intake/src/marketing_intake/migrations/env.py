from leadflow.migrations import run_env
from leadflow.outbox import kernel_metadata
from marketing_intake.models import Base

run_env([kernel_metadata, Base.metadata])
