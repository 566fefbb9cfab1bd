from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.settings import ScoringSettings
from leadflow.runner import serve

serve(ScoringSettings, build_app, MIGRATIONS)
