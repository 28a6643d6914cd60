from tsunagu.messaging.models import Message, MessageKind


def rejection_notice(application) -> Message | None:
    return Message.objects.filter(application=application, kind=MessageKind.REJECTION).first()
