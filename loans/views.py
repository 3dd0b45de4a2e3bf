def _todo(request, *args, **kwargs):
    raise NotImplementedError


request_list = request_new = requests_new_for_course = request_detail = _todo
request_approve = request_waitlist = request_reject = request_cancel = _todo
requests_approve_in_order = _todo
