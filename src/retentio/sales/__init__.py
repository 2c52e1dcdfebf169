"""Sales pipeline: pipelines and stages, leads, deals with their stage history, the funnel."""
