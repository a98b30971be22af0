"""Development tools: the demo data, ``run_portal``, ``load_demo_data`` and ``run_emulators``.

The only app that imports the ``emulators`` package. It is installed only when ``DEBUG`` or
``USE_EMULATORS`` is on (``portal/settings.py``), so production neither loads nor needs it.
"""
