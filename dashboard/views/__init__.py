"""The dashboard's pages, run by ``st.navigation`` (see ``dashboard/app.py``)."""
