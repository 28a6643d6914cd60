"""The privacy app's URLs: public pages under /privacy/ and the console's pages."""

urlpatterns = []

# Mounted under /console/ in the `console` namespace (tsunagu/urls.py).
console_patterns = []
