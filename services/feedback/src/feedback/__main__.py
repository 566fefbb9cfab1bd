from feedback.app import MIGRATIONS, build_app
from feedback.settings import FeedbackSettings
from leadflow.runner import serve

serve(FeedbackSettings, build_app, MIGRATIONS)
