"""The shared kernel: money, dates, background-job plumbing and template rendering that every
app needs. It knows no app (an import-linter contract keeps it so): apps import core, never the
other way round."""
