from leadflow.runner import serve
from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.settings import IntakeSettings

serve(IntakeSettings, build_app, MIGRATIONS)
