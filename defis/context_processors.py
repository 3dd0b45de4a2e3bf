from django.utils.functional import SimpleLazyObject

from defis.permissions import role_of


def navigation(request):
    """The user's role, so that the layout shows each role its own navigation."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"user_role": SimpleLazyObject(lambda: str(role_of(user)))}
