from feedback.models import Base
from leadflow.migrations import run_env
from leadflow.outbox import kernel_metadata

run_env([kernel_metadata, Base.metadata])
