"""Sites, studies, timepoints, projects, and the groups whose memberships carry the roles."""
