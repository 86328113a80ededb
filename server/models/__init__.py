"""Tables of the meeting record (SQLModel), one module per capability.

Every table module is imported here so that ``SQLModel.metadata`` (which the
migrations compare against) knows all of them.
"""

from server.models.core import (  # noqa: F401
    MEETING_STATES,
    ROLES,
    STAFF_ROLES,
    AgendaItem,
    CommandReceipt,
    Document,
    Event,
    LoginSession,
    Meeting,
    Participant,
    utcnow,
)
from server.models.library import (  # noqa: F401,E402
    Annotation,
    BookCopy,
    DocumentPolicy,
    DocumentVersion,
    PageText,
    Presentation,
    TextLayer,
)
from server.models.minutes import (  # noqa: F401,E402
    MinutesRevision,
    MinutesSection,
    MinutesSignature,
    MinutesVersion,
)
from server.models.floor import (  # noqa: F401, E402
    Attendance,
    AttendanceChange,
    Ballot,
    Candidate,
    Poll,
    PollVoter,
    Speech,
)
from server.models.organization import (  # noqa: F401, E402
    Body,
    BodyMember,
    ImportedPoll,
    ImportReport,
    MeetingRecord,
    OrganizerChange,
    ParticipantImport,
    ParticipantProfile,
    Person,
    StaffRole,
)
