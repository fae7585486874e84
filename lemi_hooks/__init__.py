"""lemi: the infra team's zero-to-production kit, as a Copier template with thin hooks.

One module per concern:

- ``platform``    the infra team's settings (``platform.yml``), loaded once.
- ``naming``      every name derived from a service by convention (DNS, AWS, Java).
- ``validation``  the rules for every answer; the single source used by copier.yml
                  validators (through ``jinja_extension``) and by the ``lemi`` CLI.
- ``jinja_extension``  exposes the above to the template.
- ``cli``         the ``lemi`` console script (the seed's ``lemi new service ...``).

Internal imports are relative on purpose: Copier loads this package from the
template checkout it is rendering (possibly two versions in one ``copier update``),
under a name unique to that checkout, so one version never borrows another's code.
"""

__all__ = ["__version__"]
__version__ = "0.2.0"
