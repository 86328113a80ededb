"""floor: voter list with random keys, no command ids of secret ballots, no running tallies

The voter list (``pollvoter``) had an autoincrement key, which kept the order in
which members voted. It gets a random key (and, on SQLite, no rowid), the
command ids stored for secret polls are blanked (a client's id may hold the time
it was made), and the running tally of open polls is emptied: ballots are
counted when the poll closes.

Revision ID: 0008
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0004'
branch_labels = None
depends_on = None


def _random_key() -> str:
    if op.get_bind().dialect.name == "sqlite":
        return "lower(hex(randomblob(16)))"
    return "md5(random()::text || clock_timestamp()::text)"


def _create(name: str, key: sa.Column, with_rowid: bool) -> None:
    op.create_table(name,
    key,
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('cast_by_id', sa.Integer(), nullable=False),
    sa.Column('command_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['cast_by_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], ),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'participant_id'),
    sqlite_with_rowid=with_rowid,
    )


def _swap(select_key: str) -> None:
    op.execute(
        "INSERT INTO pollvoter_new (id, poll_id, participant_id, cast_by_id, command_id) "
        f"SELECT {select_key}, v.poll_id, v.participant_id, v.cast_by_id, "
        "CASE WHEN p.mode = 'secret' THEN '' ELSE v.command_id END "
        "FROM pollvoter v JOIN poll p ON p.id = v.poll_id")
    with op.batch_alter_table('pollvoter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pollvoter_poll_id'))
    op.drop_table('pollvoter')
    op.rename_table('pollvoter_new', 'pollvoter')
    with op.batch_alter_table('pollvoter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pollvoter_poll_id'), ['poll_id'], unique=False)


def upgrade() -> None:
    _create('pollvoter_new', sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32),
                                       nullable=False), with_rowid=False)
    _swap(_random_key())
    op.execute("UPDATE poll SET tally_json = '{}' WHERE state IN ('prepared', 'open')")


def downgrade() -> None:
    _create('pollvoter_new', sa.Column('id', sa.Integer(), nullable=False), with_rowid=True)
    _swap("row_number() OVER (ORDER BY v.poll_id, v.participant_id)")
