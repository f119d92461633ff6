"""Two-stage import of tabular site data: quality control as soon as a file lands in a site's
import area, then the data manager's decision, which makes an accepted file a dataset version."""
