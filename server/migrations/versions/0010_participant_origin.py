"""participants: where each came from (``participant.origin``)

Importing an agenda file again ended the access of every participant the file
did not list, including people imported from a participant list, added on a
page or brought in by an OpenSlides export. Each participant now records its
origin ("agenda", "openslides", or "" for everything else), and an import ends
the access only of its own participants that left the file.

Existing rows: a participant of a meeting imported from an agenda file whose
key is not one the participant list gives ("person-<id>") came from the file;
keys starting with "os-" in meetings without an agenda file came from an
OpenSlides export; the rest are left alone.

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default=''))
    op.execute(
        "UPDATE participant SET origin = 'agenda' "
        "WHERE key NOT LIKE 'person-%' AND meeting_id IN "
        "(SELECT id FROM meeting WHERE source_path <> '')")
    op.execute(
        "UPDATE participant SET origin = 'openslides' "
        "WHERE key LIKE 'os-%' AND meeting_id IN "
        "(SELECT id FROM meeting WHERE source_path = '')")


def downgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('origin')
