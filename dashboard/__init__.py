"""The Streamlit leaderboard (reads the store through ``benchmark`` queries)."""
